"""The three-step add-hosts modal: credentials, security group, instance options.

    wizard.open(trigger_id=..., user="U1", channel="C1", prefill={"count": "2"})
    # Slack then sends view_submissions, routed by callback_id:
    wizard.submit_credentials(ack, body)      # step 1 -> step 2
    wizard.submit_group(ack, body)            # step 2 -> step 3
    wizard.submit_options(ack, body)          # step 3 -> launch request in the channel
    wizard.confirm_options(ack, body)         # "Ask anyway" after a warning -> the request

With Rancher 2.x (``rancher2`` given) step 2 asks for the custom cluster and the node roles
instead of the networking driver, and audits the group against the ports of the cluster's kind
and those roles: exactly what provisioning will require. Step 3 leaves the Docker engine options
out for RKE2 and K3s clusters, whose nodes run no Docker. Options that are valid but unwise (an
even number of etcd nodes) push a confirmation view over step 3 before the request is posted.

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
from commands.options import (
    DEFAULT_ROLES,
    STANDARD,
    ZONES,
    HostOptions,
    InvalidOptions,
    etcd_warning,
    parse_host_options,
    split_items,
)
from commands.ports import (
    NETWORK_DRIVERS,
    NODE_ROLES,
    STANDARD_GROUP,
    Port,
    PortAudit,
    required_ports,
    required_ports_v2,
)
from provisioning.errors import (
    ExoscaleAuthError,
    ExoscaleUnavailable,
    ProvisioningError,
    RancherError,
)
from provisioning.exoscale import ExoscaleClient
from provisioning.launch import Provisioner
from provisioning.rancher2 import Cluster, Rancher2Client
from storage import LaunchRequest, Store, utcnow

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
    # Rancher 2.x: the cluster chosen in step 2 (id, name as shown, kind) and the node roles.
    cluster: str = ""
    cluster_name: str = ""
    kind: str = ""
    roles: list[str] = field(default_factory=list)
    # Step 3's form as submitted, carried by the confirmation view an etcd warning pushes.
    form: dict[str, str] | None = None

    @property
    def runs_docker(self) -> bool:
        """True when the hosts run the agent in Docker: Rancher 1.6 and RKE1 clusters."""
        return self.kind in ("", "rke1")

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


@dataclass(frozen=True)
class Step2Choice:
    """What step 2 shows chosen: the group, and the driver (1.6) or cluster and roles (2.x)."""

    standard: bool = True
    group: str | None = None
    network: str = "ipsec"
    add_missing: bool = False
    cluster: str | None = None
    roles: tuple[str, ...] = ()


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
        rancher2: Rancher2Client | None = None,
    ) -> None:
        self.settings = settings
        # Set when the bot registers hosts with Rancher 2.x: step 2 then lists its clusters.
        self.rancher2 = rancher2
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
        roles, unknown = _prefill_roles(state.prefill.get("roles", ""))
        choice = Step2Choice(
            standard=standard,
            group=None if standard else prefill_group,
            network=network if network in NETWORK_DRIVERS else "ipsec",
            cluster=state.prefill.get("cluster", "").strip() or None,
            roles=roles,
        )
        roles_hint = None
        if unknown:
            roles_hint = (
                f"{', '.join(unknown)}: not a role; the roles are etcd, control plane and worker"
            )
        self.answers.after(
            view["id"],
            lambda: self.show_groups(view["id"], state, choice, roles_hint=roles_hint),
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
        choice: Step2Choice,
        *,
        view_hash: str | None = None,
        roles_hint: str | None = None,
    ) -> None:
        """Fill step 2 in: the groups (and clusters), the chosen group's audit (after the ack)."""
        try:
            clusters = self.rancher2.clusters() if self.rancher2 is not None else []
            cluster = _find_cluster(clusters, choice.cluster, only_one=choice.cluster is None)
            requirement = self._requirement(choice, cluster)
            with closing(self.provisioner.exoscale(state.credential_id, state.zone)) as exo:
                groups = exo.security_groups()
                chosen = _find_group(groups, STANDARD_GROUP if choice.standard else choice.group)
                audit = None
                if chosen is not None and requirement is not None:
                    required, label, _ = requirement
                    audit = exo.audit_group(chosen.id, required, driver=label).audit
        except ProvisioningError as exc:
            self._update(view_id, _problem(state, "Add hosts · 2/3", exc))
            return
        roles = choice.roles if cluster is not None else ()
        offer = False
        if requirement is None:
            text = "Choose a cluster and at least one role to see which ports the nodes need."
        elif choice.standard:
            _, label, ports = requirement
            exists = chosen is not None
            audit = audit or PortAudit(driver=label, covered=(), missing=ports)
            text = views.audit_text(
                audit,
                group_name=STANDARD_GROUP,
                standard=True,
                group_exists=exists,
                add_missing=choice.add_missing,
                roles=roles,
            )
            offer = exists and not audit.ok
        elif chosen is not None and audit is not None:
            text = views.audit_text(
                audit,
                group_name=chosen.name,
                standard=False,
                group_exists=True,
                add_missing=False,
                roles=roles,
            )
        else:
            text = "Choose a group to see which of the required ports it opens."
        cluster_step = None
        if self.rancher2 is not None:
            hint = None
            if choice.cluster and cluster is None:
                hint = f"{choice.cluster} is not a cluster this token can see; choose one"
            cluster_step = views.ClusterStep(
                clusters=[views.ClusterChoice(c.id, c.name, c.kind) for c in clusters],
                cluster_id=cluster.id if cluster else None,
                roles=choice.roles,
                cluster_hint=hint,
                roles_hint=roles_hint,
            )
        view = views.step2_view(
            state.to_metadata(),
            zone=state.zone,
            mode=views.STANDARD_MODE if choice.standard else views.CUSTOM_MODE,
            groups=[views.GroupChoice(g.id, g.name) for g in groups],
            group_id=None if choice.standard or chosen is None else chosen.id,
            network=choice.network,
            audit=text,
            offer_add_missing=offer,
            add_missing=choice.add_missing and offer,
            cluster=cluster_step,
            notes=self._ignored_prefill(state),
        )
        self._update(view_id, view, view_hash)

    def _requirement(
        self, choice: Step2Choice, cluster: Cluster | None
    ) -> tuple[str | tuple[Port, ...], str, tuple[Port, ...]] | None:
        """(what to audit against, its label, its ports); None while 2.x lacks cluster or roles.

        Rancher 1.6 audits against the networking driver's name, exactly as provisioning does.
        """
        if self.rancher2 is None:
            return choice.network, choice.network, required_ports(choice.network)
        if cluster is None or not choice.roles:
            return None
        ports = required_ports_v2(cluster.kind, choice.roles)
        return ports, cluster.kind, ports

    def _ignored_prefill(self, state: WizardState) -> list[str]:
        """Command-line options that the Rancher this bot talks to has no use for."""
        given = [k for k, v in state.prefill.items() if v.strip()]
        if self.rancher2 is None:
            unused = [k for k in ("cluster", "roles") if k in given]
            if unused:
                return [
                    f"{' and '.join(f'{k}=' for k in unused)}: for Rancher 2.x only; this bot "
                    "registers hosts with Rancher 1.6, so they are left out."
                ]
        elif "network" in given:
            return [
                "network=: a Rancher 1.6 choice; a Rancher 2.x cluster brings its own "
                "network, so it is left out."
            ]
        return []

    def group_changed(self, body: Mapping[str, Any]) -> None:
        """A choice changed in step 2 (group, driver, cluster, roles): redo the audit, redraw."""
        view = payloads.view_of(body)
        state = WizardState.from_metadata(view.get("private_metadata", ""))
        choice = _step2_choice(payloads.state_values(view), body)
        self.show_groups(view["id"], state, choice, view_hash=view.get("hash"))

    def submit_group(self, ack: Callable[..., Any], body: Mapping[str, Any]) -> None:
        """Step 2's submission: a group (and for 2.x a cluster and roles); then step 3."""
        view = payloads.view_of(body)
        state = WizardState.from_metadata(view.get("private_metadata", ""))
        choice = _step2_choice(payloads.state_values(view), None)
        errors: dict[str, str] = {}
        if not choice.standard and not choice.group:
            errors[views.GROUP_MODE] = "Choose one of your groups below, or pick Standard."
        if self.rancher2 is not None:
            if not choice.roles:
                errors[views.ROLES] = "Choose at least one role."
            if not choice.cluster:
                # Without clusters to offer, step 2 shows a notice where the select would be.
                beside = views.CLUSTER if _has_input(view, views.CLUSTER) else views.GROUP_MODE
                errors[beside] = "Choose the cluster the hosts join."
        if errors:
            ack(response_action="errors", errors=errors)
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
        self.answers.after(view["id"], lambda: self.show_options(view["id"], state, choice))

    # ------------------------------------------------------------------ step 3

    def show_options(self, view_id: str, state: WizardState, choice: Step2Choice) -> None:
        """Fill step 3 in: the final audit, instance profiles and templates of the zone."""
        standard, group = choice.standard, choice.group
        try:
            cluster = None
            if self.rancher2 is not None:
                # Asked again: the cluster may have gone since step 2 listed it.
                cluster = self.rancher2.cluster(choice.cluster or "")
            requirement = self._requirement(choice, cluster)
            # submit_group refuses step 2 without a cluster and roles, so 2.x has both here.
            assert requirement is not None
            required, label, ports = requirement
            with closing(self.provisioner.exoscale(state.credential_id, state.zone)) as exo:
                groups = exo.security_groups()
                chosen = _find_group(groups, STANDARD_GROUP if standard else group)
                if chosen is None and not standard:
                    raise ProvisioningError(f"the security group {group} is gone; start again")
                if chosen is not None:
                    audit = exo.audit_group(chosen.id, required, driver=label).audit
                else:
                    audit = PortAudit(driver=label, covered=(), missing=ports)
                profiles = [t.name for t in exo.instance_types()]
                templates = {t.name: t.size_gib for t in exo.templates()}
        except ProvisioningError as exc:
            self._update(view_id, _problem(state, "Add hosts · 3/3", exc))
            return
        state = replace(
            state,
            standard=standard,
            group_id=chosen.id if chosen else None,
            group_name=chosen.name if chosen else STANDARD_GROUP,
            group_exists=chosen is not None,
            network=choice.network,
            add_missing=bool(
                standard and chosen is not None and choice.add_missing and not audit.ok
            ),
            audit=audit.to_dict(),
            cluster=cluster.id if cluster else "",
            cluster_name=cluster.name if cluster else "",
            kind=cluster.kind if cluster else "",
            roles=list(choice.roles) if cluster else [],
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
                engine=state.runs_docker,
                rancher2=bool(state.cluster),
                notes=_step3_notes(state),
            ),
        )

    def submit_options(self, ack: Callable[..., Any], body: Mapping[str, Any]) -> None:
        """Step 3's "Create": validate through the command layer, then post the request.

        Valid options that add an even number of etcd nodes first push a confirmation view.
        """
        user = payloads.user_id(body)
        view = payloads.view_of(body)
        state = WizardState.from_metadata(view.get("private_metadata", ""))
        if not state.zone or state.audit is None:
            raise payloads.MalformedPayload("step 3 submitted before steps 1 and 2")
        if (self.rancher2 is not None) != bool(state.cluster):
            raise payloads.MalformedPayload("step 3 is not for the Rancher this bot talks to")
        values = payloads.state_values(view)
        form: dict[str, str] = {}
        for key in views.step3_fields(engine=state.runs_docker):
            if key in ("profile", "template"):
                form[key] = payloads.selected(values, key) or ""
            else:
                form[key] = payloads.text(values, key)
        options, errors = self._validate(state, form)
        if options is None:
            shown = views.step3_fields(engine=state.runs_docker)
            ack(response_action="errors", errors=_beside_fields(errors, shown))
            return
        warning = etcd_warning(options)
        if warning is not None:
            try:
                metadata = replace(state, form=form).to_metadata()
            except MetadataTooLong:
                # Too much to carry to the confirmation: the request shows the warning instead.
                metadata = None
            if metadata is not None:
                ack(
                    response_action="push",
                    view=views.confirm_view(
                        metadata, warning=warning, summary=_summary_line(state, options)
                    ),
                )
                return
        self._request(ack, user, state, options)

    def confirm_options(self, ack: Callable[..., Any], body: Mapping[str, Any]) -> None:
        """The confirmation's "Ask anyway": post the request and close the whole form."""
        user = payloads.user_id(body)
        view = payloads.view_of(body)
        state = WizardState.from_metadata(view.get("private_metadata", ""))
        if not state.zone or state.audit is None or state.form is None:
            raise payloads.MalformedPayload("confirmation without the options it confirms")
        options, _ = self._validate(state, state.form)
        if options is None:
            raise payloads.MalformedPayload("the confirmed options are not valid")
        self._request(ack, user, state, options, response_action="clear")

    def _validate(
        self, state: WizardState, form: Mapping[str, str]
    ) -> tuple[HostOptions | None, dict[str, str]]:
        """Step 3's raw form through the command layer: (options, {}) or (None, errors)."""
        values = dict(form)
        template_size = None
        errors: dict[str, str] = {}
        if values.get("template"):
            try:
                choice = views.template_from_value(values["template"])
            except ValueError:
                raise payloads.MalformedPayload("template option is not the wizard's") from None
            values["template"], template_size = choice.name, choice.size_gib
        else:
            errors["template"] = "Choose a template."
        if not values.get("profile"):
            errors["profile"] = "Choose an instance profile."
        values.update(
            zone=state.zone,
            group=STANDARD if state.standard else (state.group_name or ""),
            network=state.network,
            cluster=state.cluster,
            roles="\n".join(state.roles),
        )
        try:
            options = parse_host_options(
                values, max_hosts=self.settings.max_hosts, template_size=template_size
            )
        except InvalidOptions as exc:
            errors.update(exc.errors)
        if errors:
            return None, errors
        return options, {}

    def _request(
        self,
        ack: Callable[..., Any],
        user: str,
        state: WizardState,
        options: HostOptions,
        **answer: Any,
    ) -> LaunchRequest:
        """Record the launch request, answer the submission, post the request in the channel."""
        port_audit = {
            **(state.audit or {}),
            "standard": state.standard,
            "group_exists": state.group_exists,
            "add_missing": state.add_missing,
        }
        stored = options.to_dict()
        if options.rancher2:
            # For the request message: the cluster's name as the requester saw it.
            stored["cluster_name"] = state.cluster_name
        launch = self.store.launches.create(
            kind="add",
            requester=user,
            channel=state.channel,
            options=stored,
            zone=state.zone,
            credential_id=state.credential_id,
            group_id=state.group_id,
            group_name=state.group_name,
            driver=state.kind if options.rancher2 else state.network,
            port_audit=port_audit,
            expires_at=utcnow() + self.settings.request_ttl,
        )
        detail = {"count": options.count, "name": options.name, "zone": options.zone}
        if options.rancher2:
            detail.update(cluster=options.cluster, roles=list(options.roles))
        self.store.audit.record(
            actor=user, action="launch.request", launch_id=launch.id, detail=detail
        )
        ack(**answer)
        self.desk.post_request(launch)
        return launch

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


def _find_cluster(
    clusters: list[Cluster], name_or_id: str | None, *, only_one: bool
) -> Cluster | None:
    """The cluster by id (or name); with ``only_one``, the one cluster when there is just one."""
    if name_or_id:
        return next((c for c in clusters if name_or_id in (c.id, c.name)), None)
    if only_one and len(clusters) == 1:
        return clusters[0]
    return None


def _has_input(view: Mapping[str, Any], block_id: str) -> bool:
    return any(
        isinstance(b, dict) and b.get("block_id") == block_id and b.get("type") == "input"
        for b in view.get("blocks") or []
    )


def _prefill_roles(text: str) -> tuple[tuple[str, ...], list[str]]:
    """Roles given on the command line, in Rancher's order, and the words that are not roles.

    Nothing given (or nothing usable) means Rancher's default for a new node, all three.
    """
    wanted: set[str] = set()
    unknown: list[str] = []
    for item in split_items(text, key_value=False):
        role = item.lower().replace("-", "").replace(" ", "").replace("_", "")
        if role in NODE_ROLES:
            wanted.add(role)
        else:
            unknown.append(item)
    roles = tuple(r for r in NODE_ROLES if r in wanted)
    return roles or DEFAULT_ROLES, unknown


def _step2_choice(values: Mapping[str, Any], body: Mapping[str, Any] | None) -> Step2Choice:
    """The step-2 choices from the view state, with the action just taken applied on top."""
    mode = payloads.selected(values, views.GROUP_MODE) or views.STANDARD_MODE
    group = payloads.selected(values, views.CUSTOM_GROUP)
    network = payloads.selected(values, views.NETWORK) or "ipsec"
    add_missing = "yes" in payloads.checked(values, views.ADD_MISSING)
    cluster = payloads.selected(values, views.CLUSTER)
    roles = payloads.checked(values, views.ROLES)
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
        elif action["action_id"] == views.CLUSTER and value:
            cluster = value
        elif action["action_id"] == views.ROLES:
            # A checkbox click carries the whole new selection.
            picked = action.get("selected_options") or []
            if not isinstance(picked, list) or not all(isinstance(o, dict) for o in picked):
                raise payloads.MalformedPayload("roles selected_options is not a list")
            roles = [str(o.get("value")) for o in picked]
    if mode not in (views.STANDARD_MODE, views.CUSTOM_MODE) or network not in NETWORK_DRIVERS:
        raise payloads.MalformedPayload("unknown step 2 choice")
    if any(r not in NODE_ROLES for r in roles):
        raise payloads.MalformedPayload("unknown node role")
    return Step2Choice(
        standard=mode == views.STANDARD_MODE,
        group=group,
        network=network,
        add_missing=add_missing,
        cluster=cluster,
        roles=tuple(r for r in NODE_ROLES if r in roles),
    )


def _ports_words(state: WizardState, audit: PortAudit) -> str:
    ports = (
        "every required port open"
        if audit.ok
        else ("missing " + ", ".join(str(p) for p in audit.missing))
    )
    if state.standard and not state.group_exists:
        ports = "to be created with every required port"
    elif state.add_missing:
        ports += " (to be opened)"
    return ports


def _summary(state: WizardState, audit: PortAudit) -> str:
    group = f"Standard (`{STANDARD_GROUP}`)" if state.standard else f"`{state.group_name}`"
    ports = _ports_words(state, audit)
    where = f"Zone `{state.zone}` with {state.credentials or 'your credentials'}"
    if state.cluster:
        return (
            f"{where} · cluster *{views.escape(state.cluster_name)}* "
            f"({views.driver_name(state.kind)}) · roles {views.roles_text(state.roles)} "
            f"· group {group}: {ports}."
        )
    return f"{where} · group {group} · {views.driver_name(state.network)}: {ports}."


def _summary_line(state: WizardState, options: HostOptions) -> str:
    """What the confirmation view reminds the requester of: hosts, cluster, roles."""
    hosts = f"{options.count} host{'s' if options.count != 1 else ''} ({options.name}-1…)"
    if not state.cluster:
        return f"{hosts} in `{state.zone}`."
    return (
        f"{hosts} joining *{views.escape(state.cluster_name)}* "
        f"({views.driver_name(state.kind)}) as {views.roles_text(options.roles)}."
    )


def _step3_notes(state: WizardState) -> list[str]:
    notes = []
    if not state.runs_docker and any(state.prefill.get(k, "").strip() for k in views.ENGINE_FIELDS):
        notes.append(
            f":information_source: {views.driver_name(state.kind)} nodes run no Docker, so the "
            "Docker engine options from the command line are left out."
        )
    if "etcd" in state.roles:
        notes.append(
            ":information_source: Every host takes the etcd role; etcd needs a majority of its "
            "members up, so an odd number of etcd nodes (1, 3 or 5) is safest."
        )
    return notes


def _problem(state: WizardState, title: str, exc: ProvisioningError) -> Any:
    where = "Rancher" if isinstance(exc, RancherError) else "Exoscale"
    return views.problem_view(state.to_metadata(), title=title, text=f"{where}: {exc.message}")


def _beside_fields(errors: Mapping[str, str], shown: tuple[str, ...]) -> dict[str, str]:
    """Errors keyed by step 3's block ids; a field step 3 does not show goes beside the name."""
    beside: dict[str, str] = {}
    for key, message in errors.items():
        if key in shown:
            beside[key] = message
        else:
            label = key.replace("_", " ")
            previous = beside.get("name")
            line = f"{label}: {message}"
            beside["name"] = f"{previous}; {line}" if previous else line
    return beside
