"""The three-step add-hosts modal: credentials, security group, instance options.

    wizard.open(trigger_id=..., user="U1", channel="C1", prefill={"count": "2"})
    # Slack then sends view_submissions, routed by callback_id:
    wizard.submit_credentials(ack, body)      # step 1 -> step 2
    wizard.submit_group(ack, body)            # step 2 -> step 3
    wizard.submit_options(ack, body)          # step 3 -> launch request in the channel

State travels in the modal's ``private_metadata`` as ``WizardState`` JSON: the channel, the
command-line prefill and the choices so far. Typed keys are checked against Exoscale, saved
encrypted, and only the credential id is carried on. Slow Exoscale lookups run after the
submission is answered (Slack allows 3 s), behind a "looking up…" view replaced with
``views_update``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import payloads, views
from bot.approvals import RequestDesk
from bot.http import Answers
from bot.settings import Settings
from commands.options import STANDARD, ZONES, InvalidOptions, parse_host_options
from commands.ports import NETWORK_DRIVERS, STANDARD_GROUP, PortAudit, required_ports
from provisioning.errors import ExoscaleAuthError, ExoscaleUnavailable, ProvisioningError
from provisioning.exoscale import ExoscaleClient
from provisioning.launch import Provisioner
from storage import Store, utcnow

log = logging.getLogger(__name__)

_METADATA_MAX = 3000


class MetadataTooLong(ValueError):
    """The wizard's state does not fit in Slack's 3000-character private_metadata."""


@dataclass(frozen=True)
class WizardState:
    """Everything the wizard carries from step to step (never a secret)."""

    channel: str
    prefill: dict[str, str] = field(default_factory=dict)
    zone: str = ""
    credential_id: str | None = None
    credentials: str = ""  # how the user authenticated, in words, for the summaries
    standard: bool = True
    group_id: str | None = None
    group_name: str | None = None
    group_exists: bool = False
    network: str = "ipsec"
    add_missing: bool = False
    audit: dict[str, Any] | None = None

    def to_metadata(self) -> str:
        """Compact JSON for ``private_metadata``; MetadataTooLong past Slack's limit."""
        text = json.dumps(asdict(self), separators=(",", ":"))
        if len(text) > _METADATA_MAX:
            raise MetadataTooLong(f"{len(text)} characters")
        return text

    @classmethod
    def from_metadata(cls, text: str) -> WizardState:
        """Read ``to_metadata``'s JSON; MalformedPayload if it is not ours."""
        try:
            data = json.loads(text)
            state = cls(**data)
        except (ValueError, TypeError) as exc:
            raise payloads.MalformedPayload("private_metadata is not the wizard's") from exc
        if not isinstance(state.channel, str) or not isinstance(state.prefill, dict):
            raise payloads.MalformedPayload("private_metadata is not the wizard's")
        return state


ExoscaleFactory = Callable[[str, str, str], ExoscaleClient]


class Wizard:
    """Runs the add-hosts modal from the slash command to the posted launch request."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        client: WebClient,
        provisioner: Provisioner,
        exoscale_factory: ExoscaleFactory,
        desk: RequestDesk,
        answers: Answers,
        check_timeout: float,
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.provisioner = provisioner
        self.exoscale_factory = exoscale_factory
        self.desk = desk
        self.answers = answers
        self.check_timeout = check_timeout
        # Credential checks run here so a slow Exoscale cannot hold Slack's answer past 3 s.
        self._checks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="exoscale-check")

    def close(self) -> None:
        self._checks.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ step 1

    def credential_choices(self, user: str) -> list[views.CredentialChoice]:
        """The ways ``user`` can authenticate, best first (the typed keys always last)."""
        choices = []
        if self.settings.workspace_credentials is not None:
            choices.append(
                views.CredentialChoice("workspace", "Use the saved workspace credentials")
            )
        if self.store.credentials.latest_for(user) is not None:
            choices.append(views.CredentialChoice("saved", "Use the key I saved before"))
        choices.append(views.CredentialChoice("typed", "Use the key I enter below"))
        return choices

    def open(self, *, trigger_id: str, user: str, channel: str, prefill: Mapping[str, str]) -> None:
        """Open step 1 at once (no lookups: the trigger expires after 3 s)."""
        state = WizardState(channel=channel, prefill=dict(prefill))
        zone = prefill.get("zone") or self.settings.exoscale_zone
        view = views.step1_view(
            state.to_metadata(),
            zones=ZONES,
            zone=zone,
            sources=self.credential_choices(user),
        )
        self.client.views_open(trigger_id=trigger_id, view=view)

    def submit_credentials(self, ack: Callable[..., Any], body: Mapping[str, Any]) -> None:
        """Step 1's submission: check the keys, then move to step 2 (errors beside fields).

        Step 2 is filled in once the answer has left (``Answers``): the full view must not
        overtake the "looking up…" view it replaces.
        """
        user = payloads.user_id(body)
        view = payloads.view_of(body)
        state = WizardState.from_metadata(view.get("private_metadata", ""))
        values = payloads.state_values(view)
        source = payloads.selected(values, views.CREDS_SOURCE) or "typed"
        zone = payloads.selected(values, views.ZONE) or ""
        errors: dict[str, str] = {}
        if zone not in ZONES:
            errors[views.ZONE] = "Choose a zone."
        key = payloads.text(values, views.API_KEY).strip()
        secret = payloads.text(values, views.API_SECRET).strip()
        credential_id: str | None = None
        described = ""
        if source == "typed":
            if not key:
                errors[views.API_KEY] = "Enter the API key (Exoscale portal, IAM → API keys)."
            elif any(c.isspace() for c in key) or not key.isprintable():
                errors[views.API_KEY] = "An API key has no spaces; paste it again."
            if not secret:
                errors[views.API_SECRET] = "Enter the secret key that goes with the API key."
            described = "the key you entered"
        elif source == "workspace":
            if self.settings.workspace_credentials is None:
                errors[views.CREDS_SOURCE] = "No workspace credentials are configured."
            described = "the workspace credentials"
        elif source == "saved":
            saved = self.store.credentials.latest_for(user)
            if saved is None:
                errors[views.CREDS_SOURCE] = "You have no saved key; enter one below."
            else:
                credential_id = saved.id
            described = "your saved key"
        else:
            raise payloads.MalformedPayload(f"unknown credentials choice {source!r}")
        if errors:
            ack(response_action="errors", errors=errors)
            return

        def make_client() -> ExoscaleClient:
            if source == "typed":
                return self.exoscale_factory(key, secret, zone)
            return self.provisioner.exoscale(credential_id, zone)

        field_for_auth = views.API_KEY if source == "typed" else views.CREDS_SOURCE
        problem = self._check(make_client, zone)
        if problem is not None:
            auth_failed, message = problem
            ack(
                response_action="errors",
                errors={field_for_auth if auth_failed else views.ZONE: message},
            )
            return
        if source == "typed":
            credential_id = self.store.credentials.save(owner=user, api_key=key, api_secret=secret)
            self.store.audit.record(
                actor=user, action="credentials.save", detail={"credential_id": credential_id}
            )
        state = replace(state, zone=zone, credential_id=credential_id, credentials=described)
        metadata = state.to_metadata()
        ack(
            response_action="update",
            view=views.loading_view(
                metadata,
                title="Add hosts · 2/3",
                text=f"Authenticated. Looking up the security groups in `{zone}`…",
            ),
        )
        prefill_group = state.prefill.get("group", "").strip()
        standard = prefill_group in ("", STANDARD, STANDARD_GROUP)
        network = state.prefill.get("network", "").strip().lower()
        self.answers.after(
            view["id"],
            lambda: self.show_groups(
                view["id"],
                state,
                standard=standard,
                group=None if standard else prefill_group,
                network=network if network in NETWORK_DRIVERS else "ipsec",
                add_missing=False,
            ),
        )

    def _check(
        self, make_client: Callable[[], ExoscaleClient], zone: str
    ) -> tuple[bool, str] | None:
        """None when Exoscale accepts the keys; else (is it the keys' fault, message)."""

        def check() -> None:
            with closing(make_client()) as exo:
                exo.check_credentials()

        future = self._checks.submit(check)
        try:
            future.result(timeout=self.check_timeout)
        except FutureTimeout:
            return False, (
                f"Exoscale did not answer in {zone} within {self.check_timeout:g} s; try again."
            )
        except ExoscaleAuthError as exc:
            return True, f"{exc.message}"
        except ExoscaleUnavailable as exc:
            return False, f"Exoscale could not be reached in {zone}: {exc.message}. Try again."
        except ProvisioningError as exc:
            return True, exc.message
        return None

    # ------------------------------------------------------------------ step 2

    def show_groups(
        self,
        view_id: str,
        state: WizardState,
        *,
        standard: bool,
        group: str | None,
        network: str,
        add_missing: bool,
        view_hash: str | None = None,
    ) -> None:
        """Fill step 2 in: the groups, the chosen one's port audit (runs after the ack)."""
        try:
            with closing(self.provisioner.exoscale(state.credential_id, state.zone)) as exo:
                groups = exo.security_groups()
                chosen = _find_group(groups, STANDARD_GROUP if standard else group)
                audit = None
                if chosen is not None:
                    audit = exo.audit_group(chosen.id, network).audit
        except ProvisioningError as exc:
            self._update(view_id, _problem(state, "Add hosts · 2/3", exc.message))
            return
        if standard:
            exists = chosen is not None
            audit = audit or PortAudit(driver=network, covered=(), missing=required_ports(network))
            text = views.audit_text(
                audit,
                group_name=STANDARD_GROUP,
                standard=True,
                group_exists=exists,
                add_missing=add_missing,
            )
            offer = exists and not audit.ok
        elif chosen is not None and audit is not None:
            text = views.audit_text(
                audit, group_name=chosen.name, standard=False, group_exists=True, add_missing=False
            )
            offer = False
        else:
            text = "Choose a group to see which of the required ports it opens."
            offer = False
        view = views.step2_view(
            state.to_metadata(),
            zone=state.zone,
            mode=views.STANDARD_MODE if standard else views.CUSTOM_MODE,
            groups=[views.GroupChoice(g.id, g.name) for g in groups],
            group_id=None if standard or chosen is None else chosen.id,
            network=network,
            audit=text,
            offer_add_missing=offer,
            add_missing=add_missing and offer,
        )
        self._update(view_id, view, view_hash)

    def group_changed(self, body: Mapping[str, Any]) -> None:
        """A choice changed in step 2 (group, driver): redo the audit and redraw."""
        view = payloads.view_of(body)
        state = WizardState.from_metadata(view.get("private_metadata", ""))
        choice = _step2_choice(payloads.state_values(view), body)
        self.show_groups(view["id"], state, view_hash=view.get("hash"), **choice)

    def submit_group(self, ack: Callable[..., Any], body: Mapping[str, Any]) -> None:
        """Step 2's submission: a group must be chosen; then step 3 is filled in."""
        view = payloads.view_of(body)
        state = WizardState.from_metadata(view.get("private_metadata", ""))
        choice = _step2_choice(payloads.state_values(view), None)
        if not choice["standard"] and not choice["group"]:
            ack(
                response_action="errors",
                errors={views.GROUP_MODE: "Choose one of your groups below, or pick Standard."},
            )
            return
        ack(
            response_action="update",
            view=views.loading_view(
                state.to_metadata(),
                title="Add hosts · 3/3",
                text=f"Checking the ports and looking up the profiles and templates in "
                f"`{state.zone}`…",
            ),
        )
        self.answers.after(view["id"], lambda: self.show_options(view["id"], state, **choice))

    # ------------------------------------------------------------------ step 3

    def show_options(
        self,
        view_id: str,
        state: WizardState,
        *,
        standard: bool,
        group: str | None,
        network: str,
        add_missing: bool,
    ) -> None:
        """Fill step 3 in: the final audit, instance profiles and templates of the zone."""
        try:
            with closing(self.provisioner.exoscale(state.credential_id, state.zone)) as exo:
                groups = exo.security_groups()
                chosen = _find_group(groups, STANDARD_GROUP if standard else group)
                if chosen is None and not standard:
                    raise ProvisioningError(f"the security group {group} is gone; start again")
                if chosen is not None:
                    audit = exo.audit_group(chosen.id, network).audit
                else:
                    audit = PortAudit(driver=network, covered=(), missing=required_ports(network))
                profiles = [t.name for t in exo.instance_types()]
                templates = {t.name: t.size_gib for t in exo.templates()}
        except ProvisioningError as exc:
            self._update(view_id, _problem(state, "Add hosts · 3/3", exc.message))
            return
        state = replace(
            state,
            standard=standard,
            group_id=chosen.id if chosen else None,
            group_name=chosen.name if chosen else STANDARD_GROUP,
            group_exists=chosen is not None,
            network=network,
            add_missing=bool(standard and chosen is not None and add_missing and not audit.ok),
            audit=audit.to_dict(),
        )
        self._update(
            view_id,
            views.step3_view(
                state.to_metadata(),
                summary=_summary(state, audit),
                prefill=state.prefill,
                max_hosts=self.settings.max_hosts,
                profiles=profiles,
                templates=[views.TemplateChoice(n, s) for n, s in templates.items()],
            ),
        )

    def submit_options(self, ack: Callable[..., Any], body: Mapping[str, Any]) -> None:
        """Step 3's "Create": validate through the command layer, then post the request."""
        user = payloads.user_id(body)
        view = payloads.view_of(body)
        state = WizardState.from_metadata(view.get("private_metadata", ""))
        if not state.zone or state.audit is None:
            raise payloads.MalformedPayload("step 3 submitted before steps 1 and 2")
        values = payloads.state_values(view)
        form: dict[str, str] = {}
        for key in views.STEP3_FIELDS:
            if key in ("profile", "template"):
                form[key] = payloads.selected(values, key) or ""
            else:
                form[key] = payloads.text(values, key)
        template_size = None
        errors: dict[str, str] = {}
        if form["template"]:
            try:
                choice = views.template_from_value(form["template"])
            except ValueError:
                raise payloads.MalformedPayload("template option is not the wizard's") from None
            form["template"], template_size = choice.name, choice.size_gib
        else:
            errors["template"] = "Choose a template."
        if not form["profile"]:
            errors["profile"] = "Choose an instance profile."
        form.update(
            zone=state.zone,
            group=STANDARD if state.standard else (state.group_name or ""),
            network=state.network,
        )
        try:
            options = parse_host_options(
                form, max_hosts=self.settings.max_hosts, template_size=template_size
            )
        except InvalidOptions as exc:
            errors.update(exc.errors)
        if errors:
            ack(response_action="errors", errors=_beside_fields(errors))
            return
        port_audit = {
            **state.audit,
            "standard": state.standard,
            "group_exists": state.group_exists,
            "add_missing": state.add_missing,
        }
        launch = self.store.launches.create(
            kind="add",
            requester=user,
            channel=state.channel,
            options=options.to_dict(),
            zone=state.zone,
            credential_id=state.credential_id,
            group_id=state.group_id,
            group_name=state.group_name,
            driver=state.network,
            port_audit=port_audit,
            expires_at=utcnow() + self.settings.request_ttl,
        )
        self.store.audit.record(
            actor=user,
            action="launch.request",
            launch_id=launch.id,
            detail={"count": options.count, "name": options.name, "zone": options.zone},
        )
        ack()
        self.desk.post_request(launch)

    # ------------------------------------------------------------------ helpers

    def _update(self, view_id: str, view: Any, view_hash: str | None = None) -> None:
        try:
            self.client.views_update(view_id=view_id, view=view, hash=view_hash)
        except SlackApiError as exc:
            # A newer version of the view is already there (the user changed a choice again),
            # or the user closed the modal meanwhile: nothing is lost either way.
            if exc.response.get("error") in ("hash_conflict", "not_found"):
                log.info("view %s not updated: %s", view_id, exc.response.get("error"))
                return
            raise


def _find_group(groups: list[Any], name_or_id: str | None) -> Any:
    if not name_or_id:
        return None
    return next((g for g in groups if name_or_id in (g.id, g.name)), None)


def _step2_choice(values: Mapping[str, Any], body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The step-2 choices from the view state, with the action just taken applied on top."""
    mode = payloads.selected(values, views.GROUP_MODE) or views.STANDARD_MODE
    group = payloads.selected(values, views.CUSTOM_GROUP)
    network = payloads.selected(values, views.NETWORK) or "ipsec"
    add_missing = "yes" in payloads.checked(values, views.ADD_MISSING)
    if body is not None:
        action = payloads.action_of(body)
        option = action.get("selected_option")
        value = option.get("value") if isinstance(option, dict) else None
        if action["action_id"] == views.GROUP_MODE and value:
            mode = value
        elif action["action_id"] == views.CUSTOM_GROUP and value:
            group = value
        elif action["action_id"] == views.NETWORK and value:
            network = value
    if mode not in (views.STANDARD_MODE, views.CUSTOM_MODE) or network not in NETWORK_DRIVERS:
        raise payloads.MalformedPayload("unknown step 2 choice")
    return {
        "standard": mode == views.STANDARD_MODE,
        "group": group,
        "network": network,
        "add_missing": add_missing,
    }


def _summary(state: WizardState, audit: PortAudit) -> str:
    group = f"Standard (`{STANDARD_GROUP}`)" if state.standard else f"`{state.group_name}`"
    ports = (
        "every required port open"
        if audit.ok
        else ("missing " + ", ".join(str(p) for p in audit.missing))
    )
    if state.standard and not state.group_exists:
        ports = "to be created with every required port"
    elif state.add_missing:
        ports += " (to be opened)"
    return (
        f"Zone `{state.zone}` with {state.credentials or 'your credentials'} · group {group} "
        f"· {views.driver_name(state.network)}: {ports}."
    )


def _problem(state: WizardState, title: str, message: str) -> Any:
    return views.problem_view(state.to_metadata(), title=title, text=f"Exoscale: {message}")


def _beside_fields(errors: Mapping[str, str]) -> dict[str, str]:
    """Errors keyed by step 3's block ids; a field step 3 does not show goes beside the name."""
    shown: dict[str, str] = {}
    for key, message in errors.items():
        if key in views.STEP3_FIELDS:
            shown[key] = message
        else:
            label = key.replace("_", " ")
            previous = shown.get("name")
            shown["name"] = f"{previous}; {label}: {message}" if previous else f"{label}: {message}"
    return shown
