"""python -m labelcli"""
from labelcli.cli import main

if __name__ == "__main__":
    main()
