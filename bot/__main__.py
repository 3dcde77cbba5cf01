from bot.cli import main

if __name__ == "__main__":  # reader workers (bot/sandbox.py) import this module again: they must not run it
    main()
