"""Run the command line from a checkout: ``python cli.py recommend facts/<case>.yaml``."""
from medmassage_rules.cli import main

if __name__ == "__main__":
    main()
