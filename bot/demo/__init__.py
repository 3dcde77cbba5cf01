"""`mailroom demo`: `folder.py` writes a demo folder (configuration, Maildirs), filled by `season/`, the
generator of a season of the 13 units' mail that the tests also check the standings against.

May import the configuration and parsers/. Only cli/, the tests and the benchmarks import it: the product
never needs the generator (nor xlwt) to run.
"""
