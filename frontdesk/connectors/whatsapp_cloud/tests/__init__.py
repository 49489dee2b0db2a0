"""WhatsApp Cloud API's tests, with its stand-ins: ``peer.py`` (Meta's Graph API) and
``facebook.py`` (Facebook's JavaScript SDK and Embedded Signup's popup). Not shipped."""
