import gc

collecting = gc.isenabled()
gc.disable()  # while the CLI's modules load: see kpitrack/_entry.py
try:
    from kpitrack.cli import main
finally:
    if collecting:
        gc.freeze()
        gc.enable()

if __name__ == "__main__":
    main(process=True)
