import gc

from kpitrack._entry import compile_yaml_patterns_later

collecting = gc.isenabled()
gc.disable()  # while the CLI's modules load: see kpitrack/_entry.py
compile_yaml_patterns_later()
try:
    from kpitrack.cli import main
finally:
    if collecting:
        gc.freeze()
        gc.enable()

if __name__ == "__main__":
    main(process=True)
