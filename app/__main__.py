import sys

from app.cli import main

# Guarded: processes the server spawns (event imports, uvicorn's workers) import this module
# again and must not run the command line.
if __name__ == "__main__":
    sys.exit(main())
