"""Every modal and message the bot shows, built with ``slack_sdk.models`` so Slack's limits hold.

    view = step1_view(metadata, zones=ZONES, zone="ch-gva-2", sources=[...])
    client.views_open(trigger_id=trigger, view=view)
    text, blocks = request_message(launch, hosts, approvers="<@U2>")
    client.chat_postMessage(channel=launch.channel, text=text, blocks=blocks)

Functions here are pure: data in, Block Kit out. They never see a secret (the wizard passes the
credential id only), and every piece of user text is escaped before it reaches mrkdwn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from commands.options import DEFAULTS, FIELDS, HostOptions, etcd_warning
from commands.parse import COMMAND
from commands.ports import NODE_ROLES, STANDARD_GROUP, PortAudit

# Callback ids of the modals; listeners route on them.
STEP1 = "add_step1"
STEP2 = "add_step2"
STEP3 = "add_step3"
LOADING = "add_loading"
CONFIRM = "add_confirm"
DENY = "deny_reason"

# Block ids (equal to their action ids) of the wizard's inputs.
CREDS_SOURCE = "creds_source"
API_KEY = "api_key"
API_SECRET = "api_secret"
ZONE = "zone"
GROUP_MODE = "group_mode"
CUSTOM_GROUP = "custom_group"
NETWORK = "network"
ADD_MISSING = "add_missing"
REASON = "reason"
# Rancher 2.x only: the custom cluster the hosts join and the node roles they take.
CLUSTER = "cluster"
ROLES = "roles"
# Step 3's inputs use the FIELDS keys of commands.options as block and action ids.
STEP3_FIELDS = tuple(f for f in FIELDS if f not in ("zone", "group", "network", "cluster", "roles"))
# The Advanced section: Docker engine options, shown only where Docker runs the agent.
ENGINE_FIELDS = tuple(key for key in STEP3_FIELDS if key.startswith("engine_"))

# Action ids of the request message's buttons.
APPROVE = "launch_approve"
DENY_BUTTON = "launch_deny"

STANDARD_MODE = "standard"
CUSTOM_MODE = "custom"
# What the port audit was made for: a Rancher 1.6 networking driver or a 2.x cluster kind.
DRIVER_NAMES = {"ipsec": "IPsec", "vxlan": "VXLAN", "rke1": "RKE1", "rke2": "RKE2", "k3s": "K3s"}
ROLE_NAMES = {"etcd": "etcd", "controlplane": "control plane", "worker": "worker"}
_OPTION_TEXT_MAX = 75
_SELECT_OPTIONS_MAX = 100

STATE_WORDS = {
    "pending": "waiting for approval",
    "approved": "approved, provisioning",
    "denied": "denied",
    "expired": "expired",
    "done": "done",
    "failed": "failed",
}
HOST_ICONS = {
    "pending": ":hourglass_flowing_sand:",
    "created": ":hourglass_flowing_sand:",
    "running": ":hourglass_flowing_sand:",
    "registered": ":hourglass_flowing_sand:",
    "ready": ":white_check_mark:",
    "unhealthy": ":warning:",
    "timed_out": ":warning:",
    "failed": ":x:",
    "removed": ":wastebasket:",
}


@dataclass(frozen=True)
class CredentialChoice:
    """One way to authenticate offered in step 1 (never the secret itself)."""

    value: str  # "workspace", "saved" or "typed"
    label: str


@dataclass(frozen=True)
class GroupChoice:
    """An existing security group offered in step 2."""

    id: str
    name: str


@dataclass(frozen=True)
class ClusterChoice:
    """A Rancher 2.x custom cluster offered in step 2; ``kind`` is rke1, rke2 or k3s."""

    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class ClusterStep:
    """Step 2's Rancher 2.x part: the clusters offered, the one chosen and the node roles."""

    clusters: Sequence[ClusterChoice]
    cluster_id: str | None
    roles: tuple[str, ...]
    # Why a cluster or roles given on the command line were not taken, when they were not.
    cluster_hint: str | None = None
    roles_hint: str | None = None


@dataclass(frozen=True)
class TemplateChoice:
    """A template offered in step 3 with its size, so the disk can be checked against it."""

    name: str
    size_gib: int

    @property
    def value(self) -> str:
        # The size travels in the option value so step 3's submission needs no Exoscale call.
        return f"{self.size_gib}:{self.name}"


def template_from_value(value: str) -> TemplateChoice:
    """Undo ``TemplateChoice.value``; raises ValueError on anything else."""
    size, sep, name = value.partition(":")
    if not sep or not size.isdigit() or not name:
        raise ValueError(f"not a template option: {value!r}")
    return TemplateChoice(name=name, size_gib=int(size))


def escape(text: str) -> str:
    """Make user text inert in mrkdwn (Slack's three control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_or_group: str) -> str:
    """A Slack mention for a user ID or a user-group ID."""
    if user_or_group.startswith("S"):
        return f"<!subteam^{user_or_group}>"
    return f"<@{user_or_group}>"


def driver_name(driver: str | None) -> str:
    return DRIVER_NAMES.get(driver or "", driver or "?")


def roles_text(roles: Iterable[str]) -> str:
    """Node roles in words, in Rancher's order: "etcd, control plane, worker"."""
    chosen = set(roles)
    return ", ".join(ROLE_NAMES[r] for r in NODE_ROLES if r in chosen) or "none"


def step3_fields(*, engine: bool) -> tuple[str, ...]:
    """The inputs step 3 shows: without the engine options when the nodes run no Docker."""
    return STEP3_FIELDS if engine else tuple(k for k in STEP3_FIELDS if k not in ENGINE_FIELDS)


# ---------------------------------------------------------------------------- wizard modals


def _option(value: str, text: str, description: str | None = None) -> Option:
    if len(text) > _OPTION_TEXT_MAX:
        text = text[: _OPTION_TEXT_MAX - 1] + "…"
    if description and len(description) > _OPTION_TEXT_MAX:
        description = description[: _OPTION_TEXT_MAX - 1] + "…"
    return Option(value=value, text=PlainTextObject(text=text), description=description)


def _modal(
    callback_id: str,
    title: str,
    blocks: Sequence[Block],
    metadata: str,
    *,
    submit: str | None = None,
) -> View:
    return View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text=submit) if submit else None,
        close=PlainTextObject(text="Cancel"),
        blocks=list(blocks),
        private_metadata=metadata,
    )


def step1_view(
    metadata: str,
    *,
    zones: Sequence[str],
    zone: str,
    sources: Sequence[CredentialChoice],
) -> View:
    """Step 1, Credentials: a saved-credentials choice when there is one, the key pair, the zone."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text="*Step 1 of 3 · Exoscale credentials*\nThe API key and secret come from the "
                "Exoscale portal, *IAM → API keys*. Typed keys are checked against Exoscale, "
                "then stored encrypted; they are never shown again."
            )
        )
    ]
    if len(sources) > 1:
        options = [_option(s.value, s.label) for s in sources]
        blocks.append(
            InputBlock(
                block_id=CREDS_SOURCE,
                label="Credentials",
                element=RadioButtonsElement(
                    action_id=CREDS_SOURCE, options=options, initial_option=options[0]
                ),
            )
        )
    typed_optional = len(sources) > 1
    blocks += [
        InputBlock(
            block_id=API_KEY,
            label="API key",
            optional=typed_optional,
            hint="Starts with EXO."
            + (" Only needed to use another key." if typed_optional else ""),
            element=PlainTextInputElement(action_id=API_KEY, placeholder="EXO…", max_length=100),
        ),
        InputBlock(
            block_id=API_SECRET,
            label="Secret key",
            optional=typed_optional,
            element=PlainTextInputElement(action_id=API_SECRET, max_length=200),
        ),
        InputBlock(
            block_id=ZONE,
            label="Zone",
            element=StaticSelectElement(
                action_id=ZONE,
                options=[_option(z, z) for z in zones],
                initial_option=_option(zone, zone) if zone in zones else None,
            ),
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Next: *Authenticate & select a Security Group*. Nothing is created "
                    "until an approver agrees."
                )
            ]
        ),
    ]
    return _modal(STEP1, "Add hosts · 1/3", blocks, metadata, submit="Authenticate")


def loading_view(metadata: str, *, title: str, text: str) -> View:
    """A step whose Exoscale lookups are still running (shown right after a submission)."""
    blocks = [SectionBlock(text=MarkdownTextObject(text=f":hourglass_flowing_sand: {text}"))]
    return _modal(LOADING, title, blocks, metadata)


def problem_view(metadata: str, *, title: str, text: str) -> View:
    """A step that could not be filled in: what went wrong and what to do."""
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=f":warning: {escape(text)}")),
        ContextBlock(
            elements=[MarkdownTextObject(text=f"Close this form and run `{COMMAND} add` again.")]
        ),
    ]
    return _modal(LOADING, title, blocks, metadata)


def audit_text(
    audit: PortAudit,
    *,
    group_name: str,
    standard: bool,
    group_exists: bool,
    add_missing: bool,
    roles: Sequence[str] = (),
) -> str:
    """The port audit in words: which required ports are open, which are missing, what happens.

    ``roles`` (Rancher 2.x) names the node roles the ports were required for.
    """
    what = driver_name(audit.driver) + (f" {roles_text(roles)} nodes" if roles else "")
    if standard and not group_exists:
        ports = ", ".join(str(p) for p in (*audit.covered, *audit.missing))
        between = " between the hosts of the group" if roles else ""
        return (
            f"*Ports for {what}* · `{STANDARD_GROUP}` does not exist yet in this zone: it will "
            f"be created with every port the agent needs ({ports}{between}, ICMP echo)."
        )
    lines = [f"*Ports for {what} on `{escape(group_name)}`*"]
    for port in audit.covered:
        lines.append(f":white_check_mark: {port} · {port.purpose}: open")
    for port in audit.missing:
        lines.append(f":x: {port} · {port.purpose}: *missing*")
    if audit.ok:
        lines.append("Every required port is open.")
    elif standard and add_missing:
        lines.append(f"The missing ports will be opened in `{STANDARD_GROUP}` at launch.")
    elif standard:
        lines.append(
            f"`{STANDARD_GROUP}` exists, so its rules are *not* re-opened: hosts will not work "
            "until the missing ports are open. Tick the box below, or add them in Exoscale."
        )
    else:
        lines.append(
            "Custom groups are not changed by the bot: open the missing ports in Exoscale, "
            "or choose Standard."
        )
    return "\n".join(lines)


def step2_view(
    metadata: str,
    *,
    zone: str,
    mode: str,
    groups: Sequence[GroupChoice],
    group_id: str | None,
    network: str,
    audit: str,
    offer_add_missing: bool,
    add_missing: bool,
    cluster: ClusterStep | None = None,
    notes: Sequence[str] = (),
) -> View:
    """Step 2, Security group: Standard or Custom, and the port audit of the chosen group.

    Rancher 1.6 also asks for the networking driver; with ``cluster`` (Rancher 2.x) the step
    asks for the cluster to join and the node roles instead.
    """
    mode_options = [
        _option(
            STANDARD_MODE,
            f"Standard ({STANDARD_GROUP})",
            "Created with every port the Rancher agent needs when it is missing",
        ),
        _option(
            CUSTOM_MODE,
            "Custom",
            "An existing group; you make sure the required ports are open",
        ),
    ]
    if cluster is None:
        intro = (
            f"*Step 2 of 3 · Security group* (zone `{zone}`)\nThe Rancher agent needs "
            "TCP 22 and TCP 2376, plus UDP 500 and 4500 for IPsec or UDP 4789 for VXLAN."
        )
    else:
        intro = (
            f"*Step 2 of 3 · Cluster and security group* (zone `{zone}`)\nRancher 2.x nodes "
            "need the ports of their cluster's Kubernetes distribution and of their roles, "
            "open between the nodes; the agents dial out to Rancher."
        )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=intro))]
    if notes:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text="\n".join(escape(n) for n in notes))])
        )
    if cluster is not None:
        blocks += _cluster_blocks(cluster)
    blocks.append(
        InputBlock(
            block_id=GROUP_MODE,
            label="Security group",
            dispatch_action=True,
            element=RadioButtonsElement(
                action_id=GROUP_MODE,
                options=mode_options,
                initial_option=mode_options[0 if mode == STANDARD_MODE else 1],
            ),
        )
    )
    if mode == CUSTOM_MODE:
        if groups:
            options = [_option(g.id, g.name) for g in groups[:_SELECT_OPTIONS_MAX]]
            initial = next((o for o in options if o.value == group_id), None)
            blocks.append(
                InputBlock(
                    block_id=CUSTOM_GROUP,
                    label="Existing group",
                    dispatch_action=True,
                    element=StaticSelectElement(
                        action_id=CUSTOM_GROUP,
                        placeholder="Choose a group",
                        options=options,
                        initial_option=initial,
                    ),
                )
            )
        else:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f":information_source: This account has no security group in "
                        f"`{zone}`; choose Standard."
                    )
                )
            )
    if cluster is None:
        network_options = [
            _option("ipsec", "IPsec", "UDP 500 and 4500 between hosts"),
            _option("vxlan", "VXLAN", "UDP 4789 between hosts"),
        ]
        blocks.append(
            InputBlock(
                block_id=NETWORK,
                label="Networking driver",
                dispatch_action=True,
                element=RadioButtonsElement(
                    action_id=NETWORK,
                    options=network_options,
                    initial_option=network_options[0 if network == "ipsec" else 1],
                ),
            )
        )
    blocks += [DividerBlock(), SectionBlock(block_id="audit", text=MarkdownTextObject(text=audit))]
    if offer_add_missing:
        box = _option("yes", f"Open the missing ports in {STANDARD_GROUP}")
        blocks.append(
            InputBlock(
                block_id=ADD_MISSING,
                label="Missing ports",
                optional=True,
                element=CheckboxesElement(
                    action_id=ADD_MISSING,
                    options=[box],
                    initial_options=[box] if add_missing else None,
                ),
            )
        )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text="Next: *Set Instance Options*.")]))
    return _modal(STEP2, "Add hosts · 2/3", blocks, metadata, submit="Next")


def _cluster_blocks(cluster: ClusterStep) -> list[Block]:
    """The Rancher 2.x inputs of step 2: the cluster select and the role checkboxes."""
    blocks: list[Block] = []
    if cluster.clusters:
        options = [
            _option(c.id, f"{c.name} ({driver_name(c.kind)})", c.id)
            for c in cluster.clusters[:_SELECT_OPTIONS_MAX]
        ]
        initial = next((o for o in options if o.value == cluster.cluster_id), None)
        blocks.append(
            InputBlock(
                block_id=CLUSTER,
                label="Cluster",
                dispatch_action=True,
                hint=cluster.cluster_hint,
                element=StaticSelectElement(
                    action_id=CLUSTER,
                    placeholder="Choose a cluster",
                    options=options,
                    initial_option=initial,
                ),
            )
        )
    else:
        blocks.append(
            SectionBlock(
                block_id=CLUSTER,
                text=MarkdownTextObject(
                    text=":warning: The Rancher token sees no RKE1, RKE2 or K3s cluster that "
                    "custom nodes can join. Create a custom cluster in Rancher (or give the "
                    "token access to one), then run the command again."
                ),
            )
        )
    boxes = [
        _option("etcd", "etcd", "The cluster's datastore; keep an odd number of these"),
        _option("controlplane", "Control plane", "Kubernetes API server, scheduler, controllers"),
        _option("worker", "Worker", "Runs the workloads"),
    ]
    blocks.append(
        InputBlock(
            block_id=ROLES,
            label="Node roles",
            dispatch_action=True,
            hint=cluster.roles_hint or "Every host of this launch takes these roles.",
            element=CheckboxesElement(
                action_id=ROLES,
                options=boxes,
                initial_options=[b for b in boxes if b.value in cluster.roles] or None,
            ),
        )
    )
    return blocks


def step3_view(
    metadata: str,
    *,
    summary: str,
    prefill: Mapping[str, str],
    max_hosts: int,
    profiles: Sequence[str],
    templates: Sequence[TemplateChoice],
    engine: bool = True,
    rancher2: bool = False,
    notes: Sequence[str] = (),
) -> View:
    """Step 3, Instance options: count, name, profile, template, disk, labels, engine options.

    ``engine=False`` leaves the Advanced section (Docker engine options) out, for nodes that
    run no Docker; ``rancher2`` words the hints for Kubernetes nodes; ``notes`` are shown under
    the summary.
    """

    def initial(key: str) -> str | None:
        value = prefill.get(key) or DEFAULTS.get(key) or ""
        return value or None

    profile_options = [_option(p, p) for p in profiles[:_SELECT_OPTIONS_MAX]]
    wanted_profile = initial("profile")
    profile_initial = next((o for o in profile_options if o.value == wanted_profile), None)
    wanted_template = initial("template")
    ordered = sorted(templates, key=lambda t: (t.name != wanted_template, t.name))
    template_options = [_option(t.value, t.name) for t in ordered[:_SELECT_OPTIONS_MAX]]
    template_initial = next(
        (o for o, t in zip(template_options, ordered, strict=False) if t.name == wanted_template),
        None,
    )
    count = _whole(initial("count"), low=1, high=max_hosts)
    disk = _whole(initial("disk"), low=10, high=51200)

    def text_input(key: str, label: str, *, multiline=False, placeholder=None, hint=None):
        return InputBlock(
            block_id=key,
            label=label,
            optional=key != "name",
            hint=hint,
            element=PlainTextInputElement(
                action_id=key,
                initial_value=initial(key),
                multiline=multiline or None,
                placeholder=placeholder,
            ),
        )

    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*Step 3 of 3 · Instance options*\n{summary}")),
    ]
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="\n".join(notes))]))
    blocks += [
        InputBlock(
            block_id="count",
            label="Number of hosts",
            hint=f"1 to {max_hosts}",
            element=NumberInputElement(
                action_id="count",
                is_decimal_allowed=False,
                min_value=1,
                max_value=max_hosts,
                initial_value=count,
            ),
        ),
        text_input(
            "name",
            "Name",
            placeholder="web",
            hint="Hosts are named NAME-1 … NAME-N (a-z, 0-9 and '-', starting with a letter)",
        ),
        text_input("description", "Description", multiline=True),
    ]
    profile_hint = None
    if wanted_profile and profile_initial is None:
        profile_hint = f"{wanted_profile} is not offered in this zone"
    blocks.append(
        InputBlock(
            block_id="profile",
            label="Instance profile",
            hint=profile_hint,
            element=StaticSelectElement(
                action_id="profile",
                placeholder="Choose a profile",
                options=profile_options,
                initial_option=profile_initial,
            ),
        )
    )
    template_hint = None
    if wanted_template and template_initial is None:
        template_hint = f"{wanted_template} is not offered in this zone"
    blocks += [
        InputBlock(
            block_id="template",
            label="Template",
            hint=template_hint,
            element=StaticSelectElement(
                action_id="template",
                placeholder="Choose a template",
                options=template_options,
                initial_option=template_initial,
            ),
        ),
        InputBlock(
            block_id="disk",
            label="Root size (GiB)",
            hint="10 to 51200, and at least the template's size",
            element=NumberInputElement(
                action_id="disk",
                is_decimal_allowed=False,
                min_value=10,
                max_value=51200,
                initial_value=disk,
            ),
        ),
        text_input(
            "labels",
            "Node labels" if rancher2 else "Host labels",
            multiline=True,
            placeholder="role=web\ntier=front",
            hint="key=value, one a line; they become Kubernetes node labels"
            if rancher2
            else "key=value, one a line; Rancher schedules and balances load with them",
        ),
    ]
    if not engine:
        return _modal(STEP3, "Add hosts · 3/3", blocks, metadata, submit="Create")
    blocks += [
        HeaderBlock(text=PlainTextObject(text="Advanced: Docker engine options")),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="What `docker-machine create` calls `--engine-opt`, `--engine-label`, "
                    "`--engine-env`, `--engine-insecure-registry`, `--engine-registry-mirror`, "
                    "`--engine-storage-driver` and `--engine-install-url`. One item a line."
                )
            ]
        ),
        text_input(
            "engine_opt", "Engine options", multiline=True, placeholder="max-concurrent-downloads=3"
        ),
        text_input("engine_label", "Engine labels", multiline=True, placeholder="zone=gva"),
        text_input("engine_env", "Engine environment", multiline=True, placeholder="HTTP_PROXY=…"),
        text_input(
            "engine_insecure_registry",
            "Insecure registries",
            multiline=True,
            placeholder="registry.internal:5000",
        ),
        text_input(
            "engine_registry_mirror",
            "Registry mirrors",
            multiline=True,
            placeholder="https://mirror.example.com",
        ),
        text_input("engine_storage_driver", "Storage driver", placeholder="overlay2"),
        text_input(
            "engine_install_url",
            "Docker install URL",
            placeholder="https://releases.rancher.com/install-docker/18.09.sh",
        ),
    ]
    return _modal(STEP3, "Add hosts · 3/3", blocks, metadata, submit="Create")


def confirm_view(metadata: str, *, warning: str, summary: str) -> View:
    """Pushed over step 3 when the options are valid but unwise: "Back" returns to the form."""
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=f":warning: *Before you ask*\n{warning}")),
        ContextBlock(elements=[MarkdownTextObject(text=summary)]),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="*Back* returns to the form to change the number of hosts or the roles; "
                    "*Ask anyway* posts the request, with this warning, for an approver."
                )
            ]
        ),
    ]
    return View(
        type="modal",
        callback_id=CONFIRM,
        title=PlainTextObject(text="Add hosts · check"),
        submit=PlainTextObject(text="Ask anyway"),
        close=PlainTextObject(text="Back"),
        blocks=blocks,
        private_metadata=metadata,
    )


def _whole(value: str | None, *, low: int, high: int) -> int | None:
    """A prefilled number that a number_input accepts, or None (Slack refuses the view else)."""
    if value is None or not value.isdigit():
        return None
    number = int(value)
    return number if low <= number <= high else None


def deny_view(metadata: str, *, launch_id: str) -> View:
    """Asks the person denying a request for the reason the requester will read."""
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"Deny launch request `{launch_id}`. The reason is "
                "posted in the request's thread."
            )
        ),
        InputBlock(
            block_id=REASON,
            label="Reason",
            element=PlainTextInputElement(action_id=REASON, multiline=True, max_length=500),
        ),
    ]
    return _modal(DENY, "Deny launch request", blocks, metadata, submit="Deny")


# ---------------------------------------------------------------------------- messages


def _blocks(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def _slack_date(moment: datetime, fallback_format: str = "%Y-%m-%d %H:%M UTC") -> str:
    return (
        f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|"
        f"{moment.strftime(fallback_format)}>"
    )


def options_fields(options: HostOptions, launch: Any) -> list[str]:
    """The request's options as short mrkdwn fields (at most ten, Slack's limit)."""
    names = options.host_names()
    shown = ", ".join(names) if len(names) <= 4 else f"{names[0]} … {names[-1]}"
    group = (
        f"Standard (`{STANDARD_GROUP}`)"
        if options.standard_group
        else f"Custom (`{escape(launch.group_name or options.group)}`)"
    )
    labels = ", ".join(f"{k}={v}" for k, v in options.labels) or "none"
    fields = [
        f"*Hosts*\n{options.count}: {escape(shown)}",
        f"*Zone*\n{options.zone}",
        f"*Profile*\n{escape(options.profile)}",
        f"*Template*\n{escape(options.template)}",
        f"*Root size*\n{options.disk} GiB",
        f"*Security group*\n{group}",
    ]
    if options.rancher2:
        fields += [
            f"*Cluster*\n{cluster_text(options, launch)}",
            f"*Roles*\n{roles_text(options.roles)}",
        ]
    else:
        fields.append(f"*Networking*\n{driver_name(options.network)}")
    fields.append(f"*Labels*\n{escape(labels)}")
    if options.description:
        fields.append(f"*Description*\n{escape(options.description[:300])}")
    return fields


def cluster_text(options: HostOptions, launch: Any) -> str:
    """The Rancher 2.x cluster of a request: its name as the wizard saw it, kind and id."""
    name = str(launch.options.get("cluster_name") or options.cluster)
    kind = driver_name(launch.driver) if launch.driver else "?"
    return f"{escape(name)} · {kind} (`{escape(options.cluster)}`)"


def engine_text(options: HostOptions) -> str | None:
    """The Docker engine options in one paragraph, or None when there are none."""
    engine = options.engine

    def items(values: Iterable[str]) -> str:
        return ", ".join(f"`{escape(v)}`" for v in values)

    parts = []
    if engine.opts:
        parts.append("options " + items(f"{k}={v}" for k, v in engine.opts))
    if engine.labels:
        parts.append("labels " + items(f"{k}={v}" for k, v in engine.labels))
    if engine.env:
        parts.append("environment " + items(f"{k}={v}" for k, v in engine.env))
    if engine.insecure_registries:
        parts.append("insecure registries " + items(engine.insecure_registries))
    if engine.registry_mirrors:
        parts.append("mirrors " + items(engine.registry_mirrors))
    if engine.storage_driver:
        parts.append("storage driver " + items([engine.storage_driver]))
    if engine.install_url:
        parts.append("install script " + items([engine.install_url]))
    if not parts:
        return None
    text = "*Docker engine*: " + "; ".join(parts)
    # A section holds 3000 characters; the full list is in the database and in `status`.
    return text if len(text) <= 2900 else text[:2890] + " …"


def port_summary(launch: Any) -> str:
    """The port audit as stored with the request, in one or two lines."""
    data = launch.port_audit or {}
    if not data.get("driver"):
        return "*Ports*: not audited"
    audit = PortAudit.from_dict(data)
    group = launch.group_name or STANDARD_GROUP
    driver = driver_name(audit.driver)
    roles = (launch.options or {}).get("roles") if launch.kind == "add" else None
    if roles:
        driver += f" {roles_text(roles)}"
    if data.get("standard") and not data.get("group_exists"):
        return f"*Ports ({driver})*: `{STANDARD_GROUP}` will be created with every required port."
    open_ = ", ".join(str(p) for p in audit.covered) or "none"
    text = f"*Ports ({driver}) on `{escape(group)}`*: :white_check_mark: {open_}"
    if audit.missing:
        missing = ", ".join(str(p) for p in audit.missing)
        if data.get("standard") and data.get("add_missing"):
            what = "will be opened at launch"
        else:
            what = "*will stay closed*: hosts will not work until they are opened"
        text += f"\n:x: missing {missing}: {what}"
    return text


def ready_count(hosts: Sequence[Any]) -> str:
    ready = sum(1 for h in hosts if h.state == "ready")
    return f"{ready}/{len(hosts)} ready"


def state_text(launch: Any, hosts: Sequence[Any], *, approvers: str, ttl_hours: float) -> str:
    """The line under a request that says where it stands."""
    state = launch.state
    if state == "pending":
        return (
            f"*Waiting for approval* by {approvers or 'nobody (BOT_APPROVERS is empty)'}: click "
            f"Approve, or reply `approve` in the thread. Expires {_slack_date(launch.expires_at)}."
        )
    who = mention(launch.approver) if launch.approver else "someone"
    if state == "approved":
        if launch.kind == "remove":
            return f":white_check_mark: *Approved* by {who}: removing the host."
        return f":white_check_mark: *Approved* by {who}: provisioning, {ready_count(hosts)}."
    if state == "denied":
        reason = f": {escape(launch.reason)}" if launch.reason else ""
        return f":no_entry_sign: *Denied* by {who}{reason}"
    if state == "expired":
        return (
            f":hourglass: *Expired*: nobody approved it within {ttl_hours:g} h. "
            f"Run `{COMMAND} {launch.kind}` again if it is still needed."
        )
    if state == "done":
        if launch.kind == "remove":
            return f":white_check_mark: *Done*: approved by {who}, the host is removed."
        return f":tada: *Done*: approved by {who}, {ready_count(hosts)}."
    reason = f": {escape(launch.reason)}" if launch.reason else ""
    counts = f" ({ready_count(hosts)})" if hosts and launch.kind == "add" else ""
    return f":x: *Failed*{counts}{reason}"


def request_message(
    launch: Any, hosts: Sequence[Any], *, approvers: str, ttl_hours: float
) -> tuple[str, list[dict[str, Any]]]:
    """The launch request in the channel: who, every option, the port audit, the decision."""
    requester = mention(launch.requester)
    if launch.kind == "remove":
        title = (
            f":wastebasket: {requester} asks to remove host *{escape(launch.target_host or '')}*"
        )
        text = f"{requester} asks to remove host {launch.target_host} (request {launch.id})"
        body: list[Block] = [
            SectionBlock(text=MarkdownTextObject(text=f"{title} · request `{launch.id}`")),
        ]
        target = launch.options.get("target") or {}
        fields = [f"*Zone*\n{launch.zone}"]
        for key, label in (
            ("launch_id", "From launch"),
            ("instance_id", "Exoscale instance"),
            ("ip", "IP"),
            ("rancher_host_id", "Rancher host"),
        ):
            if target.get(key):
                fields.append(f"*{label}*\n`{escape(str(target[key]))}`")
        body.append(SectionBlock(fields=[MarkdownTextObject(text=f) for f in fields]))
        body.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="Deletes the Exoscale instance and removes the host from Rancher."
                    )
                ]
            )
        )
    else:
        options = HostOptions.from_dict(launch.options)
        where = "Rancher"
        if options.rancher2:
            name = launch.options.get("cluster_name") or options.cluster
            where = f"Rancher cluster *{escape(str(name))}*"
        title = (
            f":rocket: {requester} asks to add *{options.count} Exoscale "
            f"host{'s' if options.count != 1 else ''}* to {where}"
        )
        text = (
            f"{requester} asks to add {options.count} host(s) ({options.host_names()[0]}…) "
            f"in {options.zone} (request {launch.id})"
        )
        body = [
            SectionBlock(text=MarkdownTextObject(text=f"{title} · request `{launch.id}`")),
            SectionBlock(
                fields=[MarkdownTextObject(text=f) for f in options_fields(options, launch)]
            ),
        ]
        engine = engine_text(options)
        if engine:
            body.append(SectionBlock(text=MarkdownTextObject(text=engine)))
        body.append(SectionBlock(text=MarkdownTextObject(text=port_summary(launch))))
        warning = etcd_warning(options)
        if warning:
            body.append(
                ContextBlock(
                    block_id="etcd_warning",
                    elements=[MarkdownTextObject(text=f":warning: {warning}")],
                )
            )
    body.append(
        SectionBlock(
            block_id="state",
            text=MarkdownTextObject(
                text=state_text(launch, hosts, approvers=approvers, ttl_hours=ttl_hours)
            ),
        )
    )
    if launch.state == "pending":
        body.append(
            ActionsBlock(
                block_id="decision",
                elements=[
                    ButtonElement(
                        text="Approve", action_id=APPROVE, value=launch.id, style="primary"
                    ),
                    ButtonElement(
                        text="Deny", action_id=DENY_BUTTON, value=launch.id, style="danger"
                    ),
                ],
            )
        )
    return text, _blocks(body)


def _host_line(host: Any) -> str:
    icon = HOST_ICONS.get(host.state, ":grey_question:")
    steps: list[str] = []
    order = ("created", "running", "registered", "ready")
    reached = {
        "pending": 0,
        "created": 1,
        "running": 2,
        "registered": 3,
        "ready": 4,
        "unhealthy": 3,
    }.get(host.state, 0)
    if host.state in ("timed_out", "failed") and host.instance_id:
        reached = 2 if host.ip else 1
    for index, name in enumerate(order[:reached]):
        label = f"running ({host.ip})" if name == "running" and host.ip else name
        steps.append(f"*{label}*" if index == reached - 1 and host.state in order else label)
    path = " → ".join(steps) if steps else "waiting to be created"
    line = f"{icon} `{escape(host.name)}` {path}"
    if host.state == "unhealthy":
        line += f"\n    :warning: unhealthy: {escape(host.last_error or '')}".rstrip(": ")
    elif host.state == "timed_out":
        line += f"\n    :warning: not ready in time: {escape(host.last_error or 'no diagnosis')}"
    elif host.state == "failed":
        line += f"\n    :x: failed: {escape(host.last_error or 'no reason given')}"
    elif host.state == "removed":
        line += " · removed"
    return line


@dataclass(frozen=True)
class PlannedHost:
    """A host that the provisioner has not recorded yet, shown as waiting to be created."""

    name: str
    state: str = "pending"
    ip: str | None = None
    instance_id: str | None = None
    last_error: str | None = None


def progress_message(launch: Any, hosts: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """The one progress message kept current in the request's thread."""
    if not hosts and launch.kind == "add":
        hosts = [PlannedHost(n) for n in HostOptions.from_dict(launch.options).host_names()]
    count = ready_count(hosts)
    head = f":gear: *Provisioning {len(hosts)} host{'s' if len(hosts) != 1 else ''}* · {count}"
    lines = [_host_line(h) for h in hosts]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head))]
    # One section per ten hosts keeps each under Slack's 3000-character section limit.
    for start in range(0, len(lines), 10):
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="\n".join(lines[start : start + 10])))
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="created → running (IP) → registered in Rancher → ready. "
                    f"`{COMMAND} status {launch.id}` shows this too."
                )
            ]
        )
    )
    return f"Provisioning {len(hosts)} host(s): {count}", _blocks(blocks)


def launch_line(launch: Any, hosts: Sequence[Any]) -> str:
    """One line of ``list``."""
    if launch.kind == "remove":
        what = f"remove `{escape(launch.target_host or '')}`"
    else:
        options = HostOptions.from_dict(launch.options)
        what = f"add {options.count} × `{escape(options.name)}` in {options.zone}"
        if options.rancher2:
            name = launch.options.get("cluster_name") or options.cluster
            what += f" to cluster {escape(str(name))}"
    state = STATE_WORDS.get(launch.state, launch.state)
    if launch.kind == "add" and hosts and launch.state in ("approved", "done", "failed"):
        state += f", {ready_count(hosts)}"
    return (
        f"• `{launch.id}` {what} by {mention(launch.requester)}, "
        f"{launch.created_at:%Y-%m-%d %H:%M} UTC: *{state}*"
    )


def list_text(launches: Sequence[Any], hosts_of: Mapping[str, Sequence[Any]]) -> str:
    """The answer to ``list``."""
    if not launches:
        return f"No launch requests yet. `{COMMAND} add` starts one."
    lines = ["*Recent launch requests*"]
    lines += [launch_line(launch, hosts_of.get(launch.id, ())) for launch in launches]
    lines.append(f"`{COMMAND} status <launch>` shows one in detail.")
    return "\n".join(lines)


def status_text(launch: Any, hosts: Sequence[Any]) -> str:
    """The answer to ``status <launch>``."""
    lines = [launch_line(launch, hosts)]
    if launch.approver and launch.state != "pending":
        lines.append(f"Decided by {mention(launch.approver)}.")
    if launch.reason:
        lines.append(f"Reason: {escape(launch.reason)}")
    if launch.kind == "add":
        lines.append(port_summary(launch))
        for host in hosts:
            lines.append(_host_line(host))
    return "\n".join(lines)
