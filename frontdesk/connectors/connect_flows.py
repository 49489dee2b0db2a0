"""The kinds of connect flow a connector may offer, beside the app's plain form.

A connector with a flow of its own subclasses the kinds it offers instead of ``Connector``
(``class EmailConnector(SavingPage, RedirectFlow)``) and implements their steps: pure
functions of values (``connectors/base.py``: ``ConnectRoute``, ``PendingValues``,
``ConnectRedirect`` ...). The app's ``web/views/connect.py`` drives every flow: it serves
the routes, asks which kinds a connector offers (``isinstance``), keeps the pending
connection and its single-use state, sets the page's CSP, saves the channel through the
inbox and tells the person. A step a kind requires is abstract: a connector missing one
cannot be made; ``tests/test_connector_contract.py`` checks each kind's routes and
templates.

- ``ConnectPage``: the app renders the connector's page (its form posts back to it).
- ``SavingPage``: a page whose form is tested and saved here ("Test connection", "Save").
- ``RedirectFlow``: the page's form (``action=oauth``) leaves for the provider's consent
  page, which sends the browser back to the "callback" route.
- ``HostedAuthFlow``: a redirect to a page the provider hosts, possibly confirmed server to
  server ("notify"), with a channel page ("status") and its "reconnect".
- ``PopupFlow``: the page opens the provider's popup, whose answer it posts to "popup".
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from frontdesk.connectors.base import (
    ChannelPort,
    ChannelSetup,
    ConnectionTried,
    ConnectNotice,
    Connector,
    ConnectPending,
    ConnectPopup,
    ConnectRedirect,
    ConnectRefused,
    ConnectRoute,
    PendingValues,
    SyncPage,
)


class ConnectFlow(Connector):
    """What every flow shares: its routes, and how the channel it makes is saved and told."""

    # What "Only owners and admins can connect ..." names.
    connect_what: ClassVar[str] = "accounts"
    # Said after "<name> is connected" once a channel is saved ("its mail is being imported").
    connected_note: ClassVar[str] = ""
    # Said "<name> is connected again." once a reconnection is saved (else as a new one).
    says_connected_again: ClassVar[bool] = False
    # The config value naming the provider's account (""; none): a workspace has one channel
    # per account; connecting one it already has is refused, a removed one comes back.
    connect_account_field: ClassVar[str] = ""

    @classmethod
    def of(cls, connector: Connector) -> Self | None:
        """The connector as this kind of flow (None: it does not offer it)."""
        return connector if isinstance(connector, cls) else None

    @abstractmethod
    def connect_routes(self) -> list[ConnectRoute]:
        """The flow's URLs, one per step its kinds serve (``ConnectRoute``)."""

    def default_name(self, setup: ChannelSetup) -> str:
        """The channel's name when the person gave none."""
        return self.label

    def connected_page(self, channel: ChannelPort) -> SyncPage | None:
        """What the inbox stores at once when the flow has saved the channel (what the reply
        box needs before the first sync comes round); None: nothing."""
        return None


class ConnectPage(ConnectFlow):
    """The connector's own connect page (route "page"): ``connect_template`` (it extends
    ``web/connect_page.html``), rendered with the form's values and more context."""

    connect_template: ClassVar[str]

    @abstractmethod
    def connect_form(
        self, existing: ChannelPort | None, posted: Mapping[str, str]
    ) -> dict[str, Any]:
        """The page's form values: defaults (or the channel being reconnected's), then what
        was posted (never a secret)."""

    def connect_page_context(
        self, form: Mapping[str, Any], existing: ChannelPort | None
    ) -> dict[str, Any]:
        """More for the page's template (presets, choices, the webhook URL)."""
        return {}


class SavingPage(ConnectPage):
    """A page whose form is tested ("Test connection") and saved here; a page that is not one
    always leaves for the provider (its flow's ``connect_pending``)."""

    @abstractmethod
    def page_setup(
        self, form: Mapping[str, Any], posted: Mapping[str, str], existing: ChannelPort | None
    ) -> ChannelSetup:
        """The configuration the form gives (secrets read from ``posted``; a blank one keeps
        ``existing``'s). Raises ``ConfigError``."""

    def try_connection(self, channel: ChannelPort) -> ConnectionTried:
        """Try a configuration (an unsaved channel) at the provider. Raises ``ConfigError``
        saying what failed and what to check, ``ProviderCallError`` when it cannot be
        reached."""
        return ConnectionTried()


class RedirectFlow(ConnectFlow):
    """Leave for the provider (route "callback": where it sends the browser back)."""

    @abstractmethod
    def connect_pending(self, form: Mapping[str, Any], posted: Mapping[str, str]) -> ConnectPending:
        """What the flow keeps while the person is away (secrets read from ``posted``).
        Raises ``ConfigError``."""

    @abstractmethod
    def redirect_begin(self, pending: PendingValues, urls: Mapping[str, str]) -> ConnectRedirect:
        """Where to send the person; ``urls``: the absolute URLs of ``connect_routes`` by
        step. Raises ``ConfigError`` (or ``ConnectRefused``) when it cannot start."""

    @abstractmethod
    def redirect_complete(
        self, params: Mapping[str, str], pending: PendingValues, urls: Mapping[str, str]
    ) -> ChannelSetup:
        """The channel's configuration from the grant the provider sent back. Raises
        ``ConnectRefused``."""

    def redirect_refusal(
        self, params: Mapping[str, str], label: str, pending: PendingValues | None = None
    ) -> ConnectRefused | None:
        """The refusal (or cancellation) the provider sent back instead of a grant, in words
        naming ``label`` (the connector's, or "The provider" when the attempt is unknown);
        ``pending``: the attempt, when known (a refusal may depend on its settings). None: no
        refusal."""
        return None

    def connect_origins(self) -> list[str]:
        """Where the connect page's form may send the browser beside the app itself (the
        consent pages ``redirect_begin`` points at; URLs or origins): the origins its CSP
        ``form-action`` allows."""
        return []

    def left_connecting(self, channel: ChannelPort) -> bool:
        """Whether this "Connecting" channel was left by an older flow, never given an
        account: it leaves the sidebar when a flow starts (nothing to undo at the provider)."""
        return False


class HostedAuthFlow(RedirectFlow):
    """A redirect to the provider's hosted page: the app's "continue" page goes on to it
    (``ConnectRedirect.via_continue``), the provider may confirm server to server ("notify")
    while the browser's "return" waits, and each channel has a "status" page with a
    "reconnect" button."""

    # The "continue" page (given ``url`` and ``network``, the kind's label), the "return"
    # page while the notify is awaited (``network``) and the "status" page (``channel`` and
    # ``status_context``).
    continue_template: ClassVar[str]
    waiting_template: ClassVar[str]
    status_template: ClassVar[str]

    @abstractmethod
    def notify_read(self, params: Mapping[str, str], body: bytes) -> ConnectNotice:
        """Read and verify a "notify" call (its query ``params`` and raw ``body``). Raises
        ``ConnectRefused`` (answered 400 with its words) when it is not one to act on."""

    @abstractmethod
    def notify_complete(self, notice: ConnectNotice, pending: PendingValues) -> ChannelSetup:
        """The channel's configuration the notice confirms for this attempt (the channel's
        own, unchanged, when reconnecting it). Raises ``ConnectRefused``."""

    @abstractmethod
    def reconnect_pending(self, channel: ChannelPort) -> ConnectPending:
        """What the flow keeps to reconnect this channel ("reconnect" route). Raises
        ``ConfigError`` when it cannot be reconnected so."""

    def notify_awaited(self, pending: PendingValues) -> bool:
        """Whether this attempt is confirmed by the provider's "notify" call (the browser's
        "return" waits for it) rather than by the return itself (``redirect_complete``)."""
        return False

    def status_context(self, channel: ChannelPort) -> dict[str, Any]:
        """More for the "status" page's template."""
        return {}


class PopupFlow(ConnectPage):
    """The connect page opens the provider's popup (Meta's Embedded Signup), which ends by
    posting its answer to the "popup" route."""

    @abstractmethod
    def connect_popup(self, existing: ChannelPort | None) -> ConnectPopup | None:
        """The popup the page offers (None: not set up on this server, or not for
        reconnecting ``existing``)."""

    @abstractmethod
    def popup_complete(self, posted: Mapping[str, str]) -> tuple[ChannelSetup, ConnectionTried]:
        """The channel the popup's answer makes (the provider's code exchanged). Raises
        ``ConfigError``, or ``ProviderCallError`` when the provider could not be reached."""
