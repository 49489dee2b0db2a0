"""Local stand-ins for the providers (Graph API, Unipile), loaded only by `frontdesk demo`
and the tests: never by a normal run."""
