"""A Snowflake-protocol endpoint on loopback for tests: fakesnow's server plus a compatibility layer.

See ../README.md for what it closes, how, and what it cannot show.
"""
