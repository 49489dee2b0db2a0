"""The email connector's tests, against real servers on loopback: ``dovecot.py`` (IMAP),
``smtp.py`` (aiosmtpd), ``oauth.py`` (Google/Microsoft/Zoho's OAuth) and ``tls.py`` (a
throwaway certificate authority); ``conftest.py`` starts them once a session. Not shipped."""
