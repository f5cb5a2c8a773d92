"""The core: one module per use case. Each resolves the profile, checks capabilities, calls the provider
once, records, and returns a typed result.

The CLI calls exactly one function here per command. Nothing here prints: warnings travel on the results.
No provider's name is ever compared here: what differs between providers is in their declared Capabilities.
"""
