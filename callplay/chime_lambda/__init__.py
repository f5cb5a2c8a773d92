"""callplay's reference Lambda for an Amazon Chime SDK SIP media application.

handler.py and hooks.py are deployed as they are (standard library only): `callplay chime lambda-package`
zips them with README.md. This __init__ is not part of the zip and imports nothing.
"""
