"""Offline checks of the Samling Helm chart (helm/samling): no helm binary, no cluster.

Each values file (values.yaml, values-<region>.yaml, values-national.yaml) and
one "everything on" combination is rendered and linted with Helm's own engine
(helm-python-sdk binds Helm v4's Go SDK), every rendered object is validated
against the Kubernetes API schemas of KUBE_VERSION (kubernetes-validate), and
the properties operations rely on are asserted: resources and probes on every
container, nobody runs as root, every Service-backed workload is fenced by a
NetworkPolicy, migrations run as a hook, region files differ only where meant,
the national gateway knows every region, and no secret value lives in values.

Run: python -m pytest -q helm/tests   (see .ci/run and helm/tests/requirements.txt)
"""

from __future__ import annotations

import copy
import csv
import fnmatch
import functools
import json
import re
import secrets
import subprocess
import tomllib
from pathlib import Path
from typing import Any, Iterator

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHART = REPO / "helm" / "samling"
DASHBOARD = REPO / "helm" / "grafana" / "samling-red.json"
OPERATIONS = REPO / "docs" / "operations.md"
CONFIG_RS = REPO / "services" / "kit" / "src" / "config.rs"
REGIONS_CSV = REPO / "services" / "kit" / "reference" / "regions.csv"

# The Kubernetes version the manifests are validated against (the chart's
# kubeVersion is >=1.28; production clusters run 1.30).
KUBE_VERSION = "1.30.0"
RELEASE = "samling"

# Kinds from operators' CRDs: no schema in kubernetes-validate, checked for
# well-formedness here instead.
CRD_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}

# Key paths (dotted, fnmatch patterns) in which region values files may differ
# from each other. Anything else that differs is a mistake: regions are meant
# to be the same deployment with a different name, host, database and size.
REGION_DIFF_ALLOWED = [
    "region",
    "secrets.database.existingSecret",
    "gateway.ingress.host",
    "gateway.ingress.tls.secretName",
    "services.registry.autoscaling.minReplicas",
    "services.registry.autoscaling.maxReplicas",
    "services.registry.resources.requests.*",
    "services.registry.resources.limits.*",
    "gateway.autoscaling.minReplicas",
    "gateway.autoscaling.maxReplicas",
    "gateway.resources.requests.*",
    "gateway.resources.limits.*",
]

# Keys whose values name a Secret (a reference, not secret material).
SECRET_REFERENCE_KEYS = {"existingSecret", "secretName", "s3CredentialsSecret", "key", "jwksKey", "publicKeyKeys"}
SECRETISH_KEY = re.compile(r"(password|passwd|token|secret|private|credential|apikey|api_key|seed)", re.I)
URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
HEX_KEY_MATERIAL = re.compile(r"\b[0-9a-fA-F]{64}\b")


# --------------------------------------------------------------------------
# The regions and the scenarios rendered


def regions_in_map_order() -> list[str]:
    out: list[str] = []
    with REGIONS_CSV.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["region_id"] not in out:
                out.append(row["region_id"])
    return out


REGIONS = regions_in_map_order()


def load_values(name: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / name).read_text(encoding="utf-8")) or {}


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


EVERYTHING_ON = {
    "services": {name: {"enabled": True} for name in ("registry", "recruitment", "compensation", "ombud", "portfolio")},
    "postgresql": {
        "cnpg": {
            "enabled": True,
            "backup": {
                "enabled": True,
                "destinationPath": "s3://samling-backups/norr",
                "endpointURL": "https://s3.samling.example",
                "s3CredentialsSecret": "samling-norr-backup-s3",
            },
        }
    },
    "secrets": {"database": {"existingSecret": ""}, "grpcTls": {"existingSecret": "samling-grpc-tls"}},
    "redis": {"enabled": True},
    "gateway": {"redis": {"existingSecret": ""}, "jwt": {"publicKeyKeys": ["idp-2026.pem"]}},
    "monitoring": {"prometheusRule": {"enabled": True}},
}


class Scenario:
    def __init__(self, id: str, files: list[str], namespace: str, region: str, extra: dict[str, Any] | None = None):
        self.id = id
        self.files = files
        self.namespace = namespace
        self.region = region
        self.extra = extra or {}

    def values(self) -> dict[str, Any] | None:
        """What `helm install -f <files> --set …` passes on top of values.yaml."""
        if not self.files and not self.extra:
            return None
        merged: dict[str, Any] = {}
        for f in self.files:
            merged = deep_merge(merged, load_values(f))
        return deep_merge(merged, self.extra)

    def effective(self) -> dict[str, Any]:
        return deep_merge(load_values("values.yaml"), self.values() or {})

    def __repr__(self) -> str:
        return self.id


SCENARIOS = (
    [Scenario("values.yaml", [], f"samling-{REGIONS[0]}", REGIONS[0])]
    + [Scenario(f"values-{r}.yaml", [f"values-{r}.yaml"], f"samling-{r}", r) for r in REGIONS]
    + [Scenario("values-national.yaml", ["values-national.yaml"], "samling-national", "")]
    + [Scenario("everything-on", ["values-norr.yaml"], "samling-norr", "norr", EVERYTHING_ON)]
    # The same with only the services the binary runs today, so the built
    # binary can be given its samling.toml (test_the_jobs_open_every_store_with_only_what_they_mount).
    + [
        Scenario(
            "everything-built-on",
            ["values-norr.yaml"],
            "samling-norr",
            "norr",
            deep_merge(EVERYTHING_ON, {"services": {n: {"enabled": False} for n in ("compensation", "ombud", "portfolio")}}),
        )
    ]
)
REGIONAL = [s for s in SCENARIOS if s.region]
ALL_IDS = [s.id for s in SCENARIOS]


@functools.lru_cache(maxsize=None)
def _render(sid: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    s = next(s for s in SCENARIOS if s.id == sid)
    with helm.Chart.load(CHART) as chart:
        out = chart.render(s.values(), name=RELEASE, namespace=s.namespace, is_install=True)
    docs = []
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt") or not text.strip():
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append((path, doc))
    return tuple(docs)


def objects(s: Scenario) -> list[dict[str, Any]]:
    return [doc for _, doc in _render(s.id)]


def of_kind(s: Scenario, kind: str) -> list[dict[str, Any]]:
    return [o for o in objects(s) if o["kind"] == kind]


def pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind = obj["kind"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return obj["spec"]["template"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    if kind == "Pod":
        return obj
    return None


def workloads(s: Scenario) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for o in objects(s):
        t = pod_template(o)
        if t is not None:
            yield o, t


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def name_of(o: dict[str, Any]) -> str:
    return f"{o['kind']}/{o['metadata']['name']}"


def samling_config(s: Scenario) -> dict[str, Any]:
    cm = next(o for o in of_kind(s, "ConfigMap") if o["metadata"]["name"] == "samling-config")
    return tomllib.loads(cm["data"]["samling.toml"])


# --------------------------------------------------------------------------
# Rendering, lint and schema validation


def test_the_chart_declares_its_api_and_kubernetes_versions():
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert meta["apiVersion"] == "v2"
    assert meta["kubeVersion"] == ">=1.28.0-0"
    with helm.Chart.load(CHART) as chart:
        assert chart.name == "samling"


def test_the_chart_knows_the_binarys_region_map_in_order():
    # grpc_base_port is computed from this order: it must be the binary's.
    assert load_values("values.yaml")["regionOrder"] == REGIONS
    assert len(REGIONS) == 6


def test_there_is_a_values_file_for_every_region_and_no_other():
    files = sorted(p.name for p in CHART.glob("values-*.yaml"))
    assert files == sorted([f"values-{r}.yaml" for r in REGIONS] + ["values-national.yaml"])


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_the_chart_renders(s: Scenario):
    kinds = {o["kind"] for o in objects(s)}
    assert "ConfigMap" in kinds and "Deployment" in kinds, kinds


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_helm_lint_finds_nothing_above_info(s: Scenario):
    report = helm.lint(CHART, s.values(), strict=True, namespace=s.namespace, kube_version=f"v{KUBE_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == [] and report["errors"] == [], report


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_every_manifest_is_valid_for_the_pinned_kubernetes_version(s: Scenario):
    failures = []
    for path, o in _render(s.id):
        assert isinstance(o.get("apiVersion"), str) and isinstance(o.get("kind"), str), path
        if (o["apiVersion"], o["kind"]) in CRD_KINDS:
            continue  # test_custom_resources_are_well_formed
        try:
            kubernetes_validate.validate(o, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            failures.append(f"{path} {name_of(o)}: {'.'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            failures.append(f"{path} {name_of(o)}: {e.message}")
    assert failures == []


DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_custom_resources_are_well_formed(s: Scenario):
    for o in objects(s):
        if (o["apiVersion"], o["kind"]) not in CRD_KINDS:
            continue
        assert set(o) <= {"apiVersion", "kind", "metadata", "spec"}, name_of(o)
        assert DNS_1123.match(o["metadata"]["name"]) and len(o["metadata"]["name"]) <= 63, name_of(o)
        assert all(isinstance(v, str) for v in o["metadata"].get("labels", {}).values()), name_of(o)
        spec = o["spec"]
        assert isinstance(spec, dict) and spec, name_of(o)
        if o["kind"] == "Cluster":
            assert isinstance(spec["instances"], int) and spec["instances"] >= 1
            assert spec["bootstrap"]["initdb"]["database"] and spec["bootstrap"]["initdb"]["owner"]
            # A damaged page must be an error when read, not silently wrong data.
            assert spec["bootstrap"]["initdb"]["dataChecksums"] is True
            assert re.match(r"^\d+(Mi|Gi|Ti)$", spec["storage"]["size"])
            assert spec["resources"]["requests"] and spec["resources"]["limits"]
            store = spec.get("backup", {}).get("barmanObjectStore")
            if store:
                assert store["destinationPath"].startswith("s3://")
                creds = store["s3Credentials"]
                assert set(creds) == {"accessKeyId", "secretAccessKey"}
                assert all(set(ref) == {"name", "key"} for ref in creds.values())
        elif o["kind"] == "ScheduledBackup":
            assert len(spec["schedule"].split()) == 6  # CloudNativePG cron has seconds
            assert spec["cluster"]["name"]
        elif o["kind"] == "PrometheusRule":
            for group in spec["groups"]:
                assert group["name"] and group["rules"]
                for rule in group["rules"]:
                    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
                    assert rule["alert"] and rule["expr"].strip()
                    assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
                    assert rule["expr"].count("{") == rule["expr"].count("}"), rule["alert"]
                    assert rule["labels"]["severity"] in ("warning", "critical")
                    if "for" in rule:
                        assert re.match(r"^\d+[smh]$", rule["for"])


# --------------------------------------------------------------------------
# Properties that matter in operation


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_every_container_has_resource_requests_and_limits(s: Scenario):
    for o, t in workloads(s):
        for c in containers(t):
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res.get(part) or {}), f"{name_of(o)} {c['name']} lacks {part}"


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_every_long_running_container_has_liveness_and_readiness_probes(s: Scenario):
    # Jobs and CronJobs run to completion and are judged by their exit code.
    for o, t in workloads(s):
        if o["kind"] in ("Job", "CronJob"):
            continue
        for c in t["spec"]["containers"]:
            assert c.get("livenessProbe"), f"{name_of(o)} {c['name']} has no liveness probe"
            assert c.get("readinessProbe"), f"{name_of(o)} {c['name']} has no readiness probe"


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_services_are_probed_over_grpc_health_and_the_gateway_over_http(s: Scenario):
    v = s.effective()
    for d in of_kind(s, "Deployment"):
        component = d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        c = d["spec"]["template"]["spec"]["containers"][0]
        if component in v["services"]:
            # Under mTLS the kubelet (no client certificate) probes the plaintext health-only port.
            port = v["grpcHealthPort"] if v["secrets"]["grpcTls"]["existingSecret"] else v["grpcPort"]
            assert c["readinessProbe"]["grpc"] == {"port": port, "service": v["services"][component]["grpcServiceName"]}
            assert c["livenessProbe"]["grpc"] == {"port": port, "service": ""}
        elif component == "gateway":
            assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_no_pod_or_container_may_run_as_root(s: Scenario):
    for o, t in workloads(s):
        pod = t["spec"].get("securityContext") or {}
        assert pod.get("runAsNonRoot") is True, name_of(o)
        assert pod.get("runAsUser", 0) != 0, name_of(o)
        assert (pod.get("seccompProfile") or {}).get("type") == "RuntimeDefault", name_of(o)
        assert t["spec"].get("automountServiceAccountToken") is False, name_of(o)
        for c in containers(t):
            sc = c.get("securityContext") or {}
            where = f"{name_of(o)} {c['name']}"
            assert sc.get("runAsNonRoot", pod["runAsNonRoot"]) is True, where
            assert sc.get("runAsUser", pod["runAsUser"]) != 0, where
            assert sc.get("privileged", False) is False, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_the_samling_image_runs_as_uid_10001(s: Scenario):
    v = s.effective()
    for o, t in workloads(s):
        for c in containers(t):
            if c["image"].startswith(v["image"]["repository"]):
                assert t["spec"]["securityContext"]["runAsUser"] == 10001
                assert c["securityContext"]["runAsUser"] == 10001


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_every_service_account_token_stays_unmounted(s: Scenario):
    for sa in of_kind(s, "ServiceAccount"):
        assert sa.get("automountServiceAccountToken") is False


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_every_service_backed_workload_is_selected_by_a_network_policy(s: Scenario):
    policies = of_kind(s, "NetworkPolicy")
    backed = []
    for svc in of_kind(s, "Service"):
        sel = svc["spec"]["selector"]
        for o, t in workloads(s):
            if selector_matches({"matchLabels": sel}, t["metadata"]["labels"]):
                backed.append((svc, o, t))
    assert backed, "no Service-backed workloads rendered"
    for svc, o, t in backed:
        labels = t["metadata"]["labels"]
        fencing = [p for p in policies if selector_matches(p["spec"]["podSelector"], labels)]
        assert fencing, f"{name_of(o)} (behind {name_of(svc)}) has no NetworkPolicy"
        for p in fencing:
            assert set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}, name_of(p)
            for rule in p["spec"].get("ingress", []):
                # An empty or missing `from` would admit every pod in the cluster.
                assert rule.get("from"), f"{name_of(p)} admits anyone"
                assert rule.get("ports"), f"{name_of(p)} admits every port"
            for rule in p["spec"].get("egress", []):
                assert rule.get("ports"), f"{name_of(p)} allows egress to every port"
        ports = {pt["containerPort"] for c in t["spec"]["containers"] for pt in c.get("ports", [])}
        admitted = {pt["port"] for p in fencing for r in p["spec"].get("ingress", []) for pt in r["ports"]}
        assert ports <= admitted, f"{name_of(o)} serves {ports}, its policies admit {admitted}"


@pytest.mark.parametrize("s", REGIONAL, ids=[s.id for s in REGIONAL])
def test_services_admit_only_the_gateway_and_sibling_services(s: Scenario):
    v = s.effective()
    enabled = {n for n, svc in v["services"].items() if svc["enabled"]}
    for p in of_kind(s, "NetworkPolicy"):
        component = p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component")
        if component not in enabled:
            continue
        (rule,) = p["spec"]["ingress"]
        for peer in rule["from"]:
            pod_sel = peer["podSelector"]
            if "namespaceSelector" in peer and "matchLabels" in peer["namespaceSelector"]:
                # The national gateway, in its own namespace.
                assert peer["namespaceSelector"]["matchLabels"] == {
                    "kubernetes.io/metadata.name": v["networkPolicy"]["nationalGatewayNamespace"]
                }
                assert pod_sel["matchLabels"]["app.kubernetes.io/component"] == "gateway"
            elif "namespaceSelector" in peer:
                # The same service of the other regions (test_each_service_calls_and_admits_its_peers_in_the_other_regions).
                assert peer["namespaceSelector"]["matchExpressions"] == [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [f"samling-{r}" for r in REGIONS if r != s.region]}
                ]
                assert pod_sel == {"matchLabels": {"app.kubernetes.io/name": "samling", "app.kubernetes.io/component": component}}
            else:
                assert pod_sel["matchLabels"] == {"app.kubernetes.io/name": "samling", "app.kubernetes.io/instance": RELEASE}
                (expr,) = pod_sel["matchExpressions"]
                assert expr["key"] == "app.kubernetes.io/component" and expr["operator"] == "In"
                assert set(expr["values"]) == enabled | {"gateway"}


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_every_deployment_has_a_disruption_budget_and_the_samling_ones_an_autoscaler(s: Scenario):
    pdbs = of_kind(s, "PodDisruptionBudget")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(s, "HorizontalPodAutoscaler")}
    for d in of_kind(s, "Deployment"):
        labels = d["spec"]["template"]["metadata"]["labels"]
        if labels["app.kubernetes.io/component"] == "redis":
            continue  # one replica by design; nothing to budget or scale
        assert any(selector_matches(p["spec"]["selector"], labels) for p in pdbs), name_of(d)
        hpa = hpas.get(d["metadata"]["name"])
        assert hpa is not None, f"{name_of(d)} has no HorizontalPodAutoscaler"
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert "replicas" not in d["spec"], f"{name_of(d)} fixes replicas under an HPA"


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_each_enabled_service_runs_one_target_of_the_releases_region(s: Scenario):
    v = s.effective()
    deployments = {d["metadata"]["name"]: d for d in of_kind(s, "Deployment")}
    for name, svc in v["services"].items():
        if not svc["enabled"]:
            assert name not in deployments
            continue
        c = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert c["args"] == ["serve", "--target", name, "--regions", s.region]
        assert c["ports"] == [{"name": "grpc", "containerPort": v["grpcPort"], "protocol": "TCP"}]


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_the_config_file_is_one_the_binary_accepts(s: Scenario):
    cfg = samling_config(s)
    v = s.effective()
    if s.id == "everything-on":
        # Services of later issues are switched on here only to render their
        # templates; the binary learns their endpoint keys when they are built.
        known = set(module_names())
        for eps in cfg.get("regions", {}).values():
            for svc in [k for k in eps if k not in known]:
                assert svc in v["services"], svc
                del eps[svc]
    check_against_config_rs(cfg, "Config", "")
    if s.region:
        # The binary serves region i on grpc_base_port + i: that must be grpcPort.
        assert cfg["listen"]["grpc_base_port"] + REGIONS.index(s.region) == v["grpcPort"]
    assert cfg["listen"]["host"] == "0.0.0.0"
    # The drain ends before the kubelet's SIGKILL, with time to spare.
    grace = min(v["serviceDefaults"]["terminationGracePeriodSeconds"], v["gateway"]["terminationGracePeriodSeconds"])
    assert 0 < cfg["listen"]["drain_secs"] <= grace - 5
    assert cfg["database"]["probe_interval_secs"] >= 1
    assert cfg["auth"]["context_key_file"] == "/etc/samling/keys/context-signing.key"
    # mTLS is on exactly when the TLS Secret is mounted, reading its keys.
    if v["secrets"]["grpcTls"]["existingSecret"]:
        assert cfg["tls"] == {
            "enabled": True,
            "ca_file": "/etc/samling/tls/ca.crt",
            "cert_file": "/etc/samling/tls/tls.crt",
            "key_file": "/etc/samling/tls/tls.key",
        }
        assert cfg["listen"]["health_addr"] == f"0.0.0.0:{v['grpcHealthPort']}"
    else:
        assert "tls" not in cfg and "health_addr" not in cfg["listen"]


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_the_gateway_calls_its_regions_endpoints(s: Scenario):
    cfg = samling_config(s)
    gw = next(d for d in of_kind(s, "Deployment") if d["metadata"]["name"] == "gateway")
    args = gw["spec"]["template"]["spec"]["containers"][0]["args"]
    if s.region:
        assert args[-2:] == ["--regions", s.region]
        enabled = [n for n, svc in s.effective()["services"].items() if svc["enabled"]]
        assert "recruitment" in enabled
        # Its own region's services here; the other regions' are the services' peers,
        # which this gateway (`--regions <region>`) does not serve.
        assert cfg["regions"] == {
            r: {n: (f"http://{n}:50051" if r == s.region else f"http://{n}.samling-{r}.svc.cluster.local:50051") for n in enabled} for r in REGIONS
        }
    else:
        assert args[-2:] == ["--regions", "all"]


def test_the_national_release_lists_every_regions_endpoints():
    national = next(s for s in SCENARIOS if s.id == "values-national.yaml")
    endpoints = load_values("values-national.yaml")["gateway"]["endpoints"]
    assert list(endpoints) == REGIONS
    for r in REGIONS:
        # Every service the regions run (values.yaml), at its Service in the region's namespace.
        assert endpoints[r] == {
            "registry": f"http://registry.samling-{r}.svc.cluster.local:50051",
            "recruitment": f"http://recruitment.samling-{r}.svc.cluster.local:50051",
            "compensation": f"http://compensation.samling-{r}.svc.cluster.local:50051",
            "ombud": f"http://ombud.samling-{r}.svc.cluster.local:50051",
            "portfolio": f"http://portfolio.samling-{r}.svc.cluster.local:50051",
        }
    enabled = {n for n, svc in load_values("values.yaml")["services"].items() if svc["enabled"]}
    assert all(set(endpoints[r]) == enabled for r in REGIONS), enabled
    assert samling_config(national)["regions"] == endpoints
    # No region services, no database work in the national release.
    assert [d["metadata"]["name"] for d in of_kind(national, "Deployment")] == ["gateway"]
    assert of_kind(national, "Job") == [] and of_kind(national, "CronJob") == []
    # Its gateway may reach exactly the regions' namespaces.
    assert load_values("values-national.yaml")["networkPolicy"]["regionNamespaces"] == [f"samling-{r}" for r in REGIONS]


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_the_migration_job_is_a_pre_install_and_pre_upgrade_hook(s: Scenario):
    jobs = of_kind(s, "Job")
    if not s.region:
        assert jobs == []
        return
    (job,) = jobs
    ann = job["metadata"]["annotations"]
    hooks = set(ann["helm.sh/hook"].split(","))
    if s.effective()["postgresql"]["cnpg"]["enabled"]:
        # The chart creates the database in the same install: nothing exists
        # to migrate before it, so the first run is post-install.
        assert hooks == {"post-install", "pre-upgrade"}
    else:
        assert hooks == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in ann["helm.sh/hook-delete-policy"]
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["args"] == ["migrate", "--regions", s.region]
    # Hooks run before the release's objects exist: everything the Job mounts
    # must be a hook of the same event with a lower weight.
    mounted = {v["configMap"]["name"] for v in job["spec"]["template"]["spec"]["volumes"] if "configMap" in v}
    for cm in of_kind(s, "ConfigMap"):
        if cm["metadata"]["name"] in mounted:
            assert cm["metadata"]["annotations"]["helm.sh/hook"] == ann["helm.sh/hook"]
            assert int(cm["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(ann["helm.sh/hook-weight"])
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]
    assert not any("configMapRef" in e for e in c.get("envFrom", []))
    # The services' configuration, without the form key (test_the_jobs_config_is_the_services_without_the_form_key).
    hook_cm = next(cm for cm in of_kind(s, "ConfigMap") if cm["metadata"]["name"] in mounted)
    assert tomllib.loads(hook_cm["data"]["samling.toml"]) == without_form_key(samling_config(s))


@pytest.mark.parametrize("s", REGIONAL, ids=[s.id for s in REGIONAL])
def test_the_audit_chain_is_verified_on_a_schedule(s: Scenario):
    (cron,) = of_kind(s, "CronJob")
    job = cron["spec"]["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0  # a failure is a failed Job at once: the alert's signal
    c = job["template"]["spec"]["containers"][0]
    assert c["args"] == ["audit", "verify", "--regions", s.region]


@pytest.mark.parametrize("s", REGIONAL, ids=[s.id for s in REGIONAL])
def test_the_audit_key_and_checkpoints_reach_whatever_opens_a_store(s: Scenario):
    """ADR 0015: the chain key (a Secret) and the checkpoint directory (a
    shared claim, outside the database) are where samling.toml says, in the
    services (checkpoints writable), the migration hook and the audit check
    (read-only); the gateway gets neither."""
    v = s.effective()
    cfg = samling_config(s)
    assert cfg["audit"]["chain_key_file"] == "/etc/samling/audit-key/audit-chain.key"
    assert cfg["audit"]["checkpoint_dir"] == "/var/lib/samling-checkpoints"
    assert cfg["audit"]["checkpoint_interval_secs"] == v["config"]["audit"]["checkpointIntervalSecs"]
    seen = set()
    for o, t in workloads(s):
        vols = {vol["name"]: vol for vol in t["spec"].get("volumes", [])}
        c = containers(t)[0]
        mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
        component = o["metadata"]["labels"]["app.kubernetes.io/component"]
        if component in ("gateway", "redis"):
            assert "audit-chain-key" not in vols and "audit-checkpoints" not in vols, name_of(o)
            continue
        key = vols["audit-chain-key"]["secret"]
        assert key["secretName"] == v["secrets"]["auditChainKey"]["existingSecret"]
        assert key["items"] == [{"key": v["secrets"]["auditChainKey"]["key"], "path": "audit-chain.key"}]
        assert mounts["audit-chain-key"] == {"name": "audit-chain-key", "mountPath": "/etc/samling/audit-key", "readOnly": True}
        claim = vols["audit-checkpoints"]["persistentVolumeClaim"]["claimName"]
        assert claim == v["auditCheckpoints"]["existingClaim"]
        assert mounts["audit-checkpoints"]["mountPath"] == "/var/lib/samling-checkpoints"
        writes = o["kind"] == "Deployment"
        assert mounts["audit-checkpoints"].get("readOnly", False) is not writes, name_of(o)
        seen.add(o["kind"])
    assert {"Deployment", "Job", "CronJob"} <= seen, seen


# --------------------------------------------------------------------------
# Recruitment (issue 19) and the key files of recruitment and the registry
# (the public form's token key; issue 24 §1's national identity key, ADR 0021)

RECRUITMENT = REPO / "services" / "recruitment"
FORM_KEY_FILE = "/etc/samling/recruitment-form/recruitment-form.key"
CREDENTIAL_KEY_FILE = "/etc/samling/portfolio-credential/portfolio-credential.key"
IDENTITY_KEY_FILE = "/etc/samling/registry-identity/registry-identity.key"


def without_form_key(cfg: dict[str, Any]) -> dict[str, Any]:
    """The jobs' samling.toml is the services' without [recruitment]
    form_token_key_file and [portfolio] credential_key_file."""
    out = copy.deepcopy(cfg)
    out.get("recruitment", {}).pop("form_token_key_file", None)
    out.get("portfolio", {}).pop("credential_key_file", None)
    return out


def config_of(objs: list[dict[str, Any]], name: str = "samling-config", key: str = "samling.toml") -> dict[str, Any]:
    cm = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name)
    return tomllib.loads(cm["data"][key])


def component_of(o: dict[str, Any]) -> str:
    return o["metadata"]["labels"]["app.kubernetes.io/component"]


def secret_volumes(t: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Secret name → its volume, in a pod template."""
    return {v["secret"]["secretName"]: v for v in t["spec"].get("volumes", []) if "secret" in v}


def key_file_in(o: dict[str, Any], t: dict[str, Any], secret: str, key: str) -> str | None:
    """Where a pod's container sees `key` of Secret `secret` (None: not mounted)."""
    vol = secret_volumes(t).get(secret)
    if vol is None:
        return None
    (item,) = [i for i in vol["secret"]["items"] if i["key"] == key]
    assert vol["secret"]["defaultMode"] == 0o440, name_of(o)
    (c,) = t["spec"]["containers"]
    (mount,) = [m for m in c["volumeMounts"] if m["name"] == vol["name"]]
    assert mount["readOnly"] is True, f"{name_of(o)} mounts {secret} writable"
    return f"{mount['mountPath']}/{item['path']}"


def rust_value(expr: str) -> Any:
    """A literal of a Rust Default impl: an integer product, None, or a vec of enum variants."""
    expr = expr.strip()
    if expr == "None":
        return None
    if expr in ("true", "false"):
        return expr == "true"
    if re.fullmatch(r"\d+(\s*\*\s*\d+)*", expr):
        out = 1
        for n in expr.split("*"):
            out *= int(n)
        return out
    m = re.fullmatch(r"vec!\[(.*)\]", expr, re.S)
    if m:
        # prost's from_str_name names: Register::CriminalRecords → REGISTER_CRIMINAL_RECORDS.
        snake = lambda w: re.sub(r"(?<!^)([A-Z])", r"_\1", w).upper()  # noqa: E731
        return [f"{snake(e)}_{snake(v)}" for e, v in re.findall(r"(\w+)::(\w+)", m.group(1))]
    raise AssertionError(f"cannot read the Rust default {expr!r}; teach rust_value")


def rust_default(path: Path, struct: str) -> dict[str, Any]:
    src = path.read_text(encoding="utf-8")
    m = re.search(rf"impl Default for {struct} \{{.*?{struct} \{{(.*?)\n\s*\}}\n\s*\}}\n\}}", src, re.S)
    assert m, f"no `impl Default for {struct}` in {path}"
    out = {}
    for f in re.finditer(r"^\s*(\w+):\s*(.+?),\s*$", m.group(1), re.M):
        nested = re.fullmatch(r"(\w+)::default\(\)", f.group(2).strip())
        # A nested section (`deadlines: DeadlineConfig::default()`): its own Default.
        out[f.group(1)] = rust_default(path, nested.group(1)) if nested else rust_value(f.group(2))
    return out


def test_recruitment_is_on_by_default_and_serves_what_the_binary_names():
    v = load_values("values.yaml")
    assert v["services"]["recruitment"]["enabled"] is True
    # The readiness probe asks grpc.health.v1 for the name the binary reports.
    for name in module_names():
        lib = (REPO / "services" / name / "src" / "lib.rs").read_text(encoding="utf-8")
        (health_name,) = re.findall(r'pub const SERVICE_NAME: &str = "([^"]+)";', lib)
        assert v["services"][name]["grpcServiceName"] == health_name, name
        assert v["services"][name]["enabled"] is True, f"{name} is a module of the binary but off in values.yaml"


@pytest.mark.parametrize("s", REGIONAL, ids=[s.id for s in REGIONAL])
def test_recruitment_is_deployed_in_every_region_and_reaches_its_registry(s: Scenario):
    v = s.effective()
    (d,) = [d for d in of_kind(s, "Deployment") if component_of(d) == "recruitment"]
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["args"] == ["serve", "--target", "recruitment", "--regions", s.region]
    assert c["readinessProbe"]["grpc"]["service"] == "samling.recruitment.v1.RecruitmentService"
    (svc,) = [o for o in of_kind(s, "Service") if o["metadata"]["name"] == "recruitment"]
    assert svc["spec"]["ports"] == [{"name": "grpc", "port": v["grpcPort"], "targetPort": "grpc", "protocol": "TCP", "appProtocol": "grpc"}]
    # Region i listens on grpc_base_port + i whatever the service: recruitment on
    # the same port as the registry, which it calls at [regions.<region>] registry.
    cfg = samling_config(s)
    assert cfg["listen"]["grpc_base_port"] + REGIONS.index(s.region) == c["ports"][0]["containerPort"]
    assert cfg["regions"][s.region]["registry"] == f"http://registry:{v['grpcPort']}"
    # Its NetworkPolicy lets it out to the registry's pods on that port.
    (policy,) = [p for p in of_kind(s, "NetworkPolicy") if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") == "recruitment"]
    registry_labels = {"app.kubernetes.io/name": "samling", "app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/component": "registry"}
    assert any(
        any(selector_matches(peer.get("podSelector", {}), registry_labels) and "namespaceSelector" not in peer for peer in rule.get("to", []))
        and {"port": v["grpcPort"], "protocol": "TCP"} in rule["ports"]
        for rule in policy["spec"]["egress"]
    ), policy["spec"]["egress"]
    # Recruitment's event consumer and checkpoints: its pods get the audit key and claim like the registry's.
    vols = {vol["name"] for vol in d["spec"]["template"]["spec"]["volumes"]}
    assert {"audit-chain-key", "audit-checkpoints", "auth-context-key", "config"} <= vols


@pytest.mark.parametrize("s", [s for s in SCENARIOS], ids=ALL_IDS)
def test_the_recruitment_section_has_the_binarys_keys(s: Scenario):
    cfg = samling_config(s)
    v = s.effective()
    rec = cfg["recruitment"]
    structs = config_structs()
    # test_the_config_file_is_one_the_binary_accepts checks every key and type
    # against the structs; here: the section is complete, nested as the binary reads it.
    assert set(rec) <= set(structs["recruitment::RecruitmentConfig"])
    assert set(rec["rules"]) == set(structs["recruitment::Rules"]), "every rule is rendered (values.yaml mirrors domain::Rules)"
    assert rec["rules"] == v["config"]["recruitment"]["rules"]
    assert set(rec["matching"]) <= set(structs["recruitment::MatchingSettings"])
    assert rec["matching"] == {k: x for k, x in v["config"]["recruitment"]["matching"].items() if x not in ("", None)}
    if v["services"]["recruitment"]["enabled"]:
        assert rec["form_token_key_file"] == FORM_KEY_FILE
    else:
        assert "form_token_key_file" not in rec
    if s.region:
        assert cfg["registry"]["identity_key_file"] == IDENTITY_KEY_FILE
    else:
        assert "identity_key_file" not in cfg["registry"]


def test_the_chart_defaults_are_the_binarys():
    config = load_values("values.yaml")["config"]
    rules = rust_default(RECRUITMENT / "src" / "domain" / "mod.rs", "Rules")
    assert set(rules) == set(config_structs()["recruitment::Rules"]), "the Default impl was not read whole"
    assert config["recruitment"]["rules"] == rules
    registry = rust_default(REPO / "services" / "registry" / "src" / "config.rs", "RegistryConfig")
    assert registry.pop("identity_key_file") is None  # the chart's (secrets.registryIdentityKey)
    assert config["registry"] == registry
    # MatchingSettings' numbers are Options, defaulted where they are read.
    lib = (RECRUITMENT / "src" / "lib.rs").read_text(encoding="utf-8")
    defaults = {k: int(n) for k, n in re.findall(r"matching\.(\w+)\)?\s*\.unwrap_or\(\s*(\d+)\s*\)", lib)}
    numbers = {k for k, ty in config_structs()["recruitment::MatchingSettings"].items() if re.fullmatch(r"Option<u\d+>", ty)}
    assert set(defaults) == numbers, (defaults, numbers)
    matching = config["recruitment"]["matching"]
    assert {k: matching[k] for k in numbers} == defaults
    assert set(matching) == set(config_structs()["recruitment::MatchingSettings"])
    assert matching["config_file"] == ""  # None: the built-in standard
    portfolio = rust_default(REPO / "services" / "portfolio" / "src" / "config.rs", "PortfolioConfig")
    assert portfolio.pop("credential_key_file") is None  # the chart's (secrets.portfolioCredentialKey)
    assert config["portfolio"] == portfolio
    # Compensation: the claim ceilings (the tax table and payer stay the binary's).
    ceilings = rust_default(REPO / "services" / "compensation" / "src" / "domain" / "claims.rs", "ClaimCeilings")
    assert set(ceilings) == set(config_structs()["compensation::ClaimCeilings"]), "the Default impl was not read whole"
    assert config["compensation"] == {"rules": {"claim_ceilings": ceilings}}


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_the_key_secrets_reach_exactly_the_pods_that_use_them(s: Scenario):
    """The form key: the recruitment pods only. The identity key: the
    registry pods and the jobs (migrate, audit verify), which open the
    registry and index identities under it. Read-only, where samling.toml
    says. Nothing else gets either."""
    v = s.effective()
    form = (v["secrets"]["recruitmentFormKey"]["existingSecret"], v["secrets"]["recruitmentFormKey"]["key"])
    ident = (v["secrets"]["registryIdentityKey"]["existingSecret"], v["secrets"]["registryIdentityKey"]["key"])
    cred = (v["secrets"]["portfolioCredentialKey"]["existingSecret"], v["secrets"]["portfolioCredentialKey"]["key"])
    has_form, has_ident, has_cred = set(), set(), set()
    for o, t in workloads(s):
        component = component_of(o)
        at = key_file_in(o, t, *form)
        if at is not None:
            assert at == FORM_KEY_FILE, name_of(o)
            has_form.add(component)
        at = key_file_in(o, t, *ident)
        if at is not None:
            assert at == IDENTITY_KEY_FILE, name_of(o)
            has_ident.add(component)
        at = key_file_in(o, t, *cred)
        if at is not None:
            assert at == CREDENTIAL_KEY_FILE, name_of(o)
            has_cred.add(component)
    enabled = {n for n, svc in v["services"].items() if svc["enabled"]}
    assert has_form == ({"recruitment"} & enabled)
    assert has_cred == ({"portfolio"} & enabled)
    cfg = samling_config(s)
    if "portfolio" in enabled:
        assert cfg["portfolio"]["credential_key_file"] == CREDENTIAL_KEY_FILE
    else:
        assert "credential_key_file" not in cfg["portfolio"]
    assert has_ident == (({"registry"} & enabled) | ({"migrate", "audit-verify"} if enabled else set()))


@pytest.mark.parametrize("s", REGIONAL, ids=[s.id for s in REGIONAL])
def test_the_jobs_config_is_the_services_without_the_form_key(s: Scenario):
    services_cfg = samling_config(s)
    assert services_cfg["recruitment"]["form_token_key_file"] == FORM_KEY_FILE
    # The audit check mounts the jobs' copy from samling-config under the usual name.
    (cron,) = of_kind(s, "CronJob")
    t = pod_template(cron)
    (vol,) = [vol for vol in t["spec"]["volumes"] if vol["name"] == "config"]
    assert vol["configMap"]["items"] == [{"key": "samling-jobs.toml", "path": "samling.toml"}]
    jobs_cfg = config_of(objects(s), vol["configMap"]["name"], "samling-jobs.toml")
    assert jobs_cfg == without_form_key(services_cfg) != services_cfg
    # The migration hook's own copy is the same (test_the_migration_job_is_a_pre_install_and_pre_upgrade_hook).
    hook = config_of(objects(s), "samling-migrate-config")
    assert hook == jobs_cfg


@pytest.mark.parametrize("s", REGIONAL, ids=[s.id for s in REGIONAL])
def test_whatever_opens_a_store_has_the_context_key_and_the_mtls_material(s: Scenario):
    """Opening recruitment loads the auth-context key (its registry-feed
    consumer signs with it) and opening the registry or recruitment builds
    their gRPC clients' TLS from [tls]: the service pods, the migration hook
    and the audit check all mount both (test_the_jobs_open_every_store_with_only_what_they_mount
    runs them); the gateway its own way."""
    v = s.effective()
    tls = v["secrets"]["grpcTls"]["existingSecret"]
    seen = set()
    for o, t in workloads(s):
        component = component_of(o)
        if component in ("gateway", "redis"):
            continue
        seen.add(o["kind"])
        assert key_file_in(o, t, v["secrets"]["authContextKey"]["existingSecret"], v["secrets"]["authContextKey"]["key"]) == (
            "/etc/samling/keys/context-signing.key"
        ), name_of(o)
        vols = secret_volumes(t)
        if tls:
            (c,) = t["spec"]["containers"]
            (mount,) = [m for m in c["volumeMounts"] if m["name"] == vols[tls]["name"]]
            assert mount == {"name": vols[tls]["name"], "mountPath": "/etc/samling/tls", "readOnly": True}, name_of(o)
        else:
            assert not any(name.endswith("tls") for name in vols), name_of(o)
    assert {"Deployment", "Job", "CronJob"} <= seen, seen


def peer_rules(policy: dict[str, Any], direction: str) -> list[tuple[list[str], dict[str, Any], list[dict[str, Any]]]]:
    """(namespaces, pod selector, ports) of a policy's rules that name namespaces by expression (the regions' peers)."""
    out = []
    for rule in policy["spec"].get(direction, []):
        for peer in rule.get("from" if direction == "ingress" else "to", []):
            exprs = peer.get("namespaceSelector", {}).get("matchExpressions")
            if exprs:
                (e,) = exprs
                assert e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "In"
                out.append((e["values"], peer["podSelector"], rule["ports"]))
    return out


@pytest.mark.parametrize("s", REGIONAL, ids=[s.id for s in REGIONAL])
def test_each_service_calls_and_admits_its_peers_in_the_other_regions(s: Scenario):
    """ADR 0021: a register calls the other regions' registers (placements in
    their homes, duplicates by keyed hash); recruitment calls the other
    regions' recruitment for a national ranking. Each finds them in
    [regions.<r>] and its NetworkPolicy lets exactly that through, both ways:
    the same service, in the other regions' namespaces, on the gRPC port."""
    v = s.effective()
    cfg = samling_config(s)
    others = [r for r in REGIONS if r != s.region]
    enabled = sorted(n for n, svc in v["services"].items() if svc["enabled"])
    for r in others:
        assert cfg["regions"][r] == {n: f"http://{n}.samling-{r}.svc.cluster.local:{v['grpcPort']}" for n in enabled}
    namespaces = [f"samling-{r}" for r in others]
    assert s.namespace not in namespaces
    for name in enabled:
        (policy,) = [p for p in of_kind(s, "NetworkPolicy") if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") == name]
        same_service = {"matchLabels": {"app.kubernetes.io/name": "samling", "app.kubernetes.io/component": name}}
        grpc = [{"port": v["grpcPort"], "protocol": "TCP"}]
        assert peer_rules(policy, "egress") == [(namespaces, same_service, grpc)], name
        assert peer_rules(policy, "ingress") == [(namespaces, same_service, grpc)], name
    # The gateway and the jobs call no other region.
    for p in of_kind(s, "NetworkPolicy"):
        if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") not in enabled:
            assert peer_rules(p, "egress") == [] and peer_rules(p, "ingress") == [], name_of(p)


def test_region_peers_can_be_switched_off():
    objs = render_values({"regionPeers": {"enabled": False}})
    assert list(config_of(objs)["regions"]) == [REGIONS[0]]
    for p in (o for o in objs if o["kind"] == "NetworkPolicy"):
        assert peer_rules(p, "egress") == [] and peer_rules(p, "ingress") == [], name_of(p)
    # Another namespace scheme.
    cfg = config_of(render_values({"regionPeers": {"namespacePattern": "fh-%s-prod"}}))
    assert cfg["regions"]["norr"]["registry"] == "http://registry.fh-norr-prod.svc.cluster.local:50051"


def test_the_key_secrets_are_required_and_only_the_chart_names_their_files():
    with pytest.raises(Exception, match=r"secrets\.recruitmentFormKey\.existingSecret is required"):
        render_values({"secrets": {"recruitmentFormKey": {"existingSecret": ""}}})
    with pytest.raises(Exception, match=r"secrets\.registryIdentityKey\.existingSecret is required"):
        render_values({"secrets": {"registryIdentityKey": {"existingSecret": ""}}})
    # Without recruitment there is no form key to name (the jobs never need it).
    objs = render_values({"services": {"recruitment": {"enabled": False}}, "secrets": {"recruitmentFormKey": {"existingSecret": ""}}})
    assert "form_token_key_file" not in config_of(objs)["recruitment"]
    assert not any(o["kind"] == "Deployment" and o["metadata"]["name"] == "recruitment" for o in objs)
    assert config_of(objs)["regions"][REGIONS[0]] == {"registry": "http://registry:50051", "compensation": "http://compensation:50051", "ombud": "http://ombud:50051", "portfolio": "http://portfolio:50051"}
    assert all(set(eps) == {"registry", "compensation", "ombud", "portfolio"} for eps in config_of(objs)["regions"].values())
    # The same for portfolio and its credential key.
    with pytest.raises(Exception, match=r"secrets\.portfolioCredentialKey\.existingSecret is required"):
        render_values({"secrets": {"portfolioCredentialKey": {"existingSecret": ""}}})
    objs = render_values({"services": {"portfolio": {"enabled": False}}, "secrets": {"portfolioCredentialKey": {"existingSecret": ""}}})
    assert "credential_key_file" not in config_of(objs)["portfolio"]
    assert not any(o["kind"] == "Deployment" and o["metadata"]["name"] == "portfolio" for o in objs)
    with pytest.raises(Exception, match=r"config\.portfolio\.credential_key_file.*secrets\.portfolioCredentialKey"):
        render_values({"config": {"portfolio": {"credential_key_file": "/tmp/k"}}})
    # A key file named in config.* would be a path nothing mounts.
    with pytest.raises(Exception, match=r"config\.recruitment\.form_token_key_file.*secrets\.recruitmentFormKey"):
        render_values({"config": {"recruitment": {"form_token_key_file": "/tmp/k"}}})
    with pytest.raises(Exception, match=r"config\.registry\.identity_key_file.*secrets\.registryIdentityKey"):
        render_values({"config": {"registry": {"identity_key_file": "/tmp/k"}}})
    # Other names and keys of the Secrets are followed.
    objs = render_values({"secrets": {"recruitmentFormKey": {"existingSecret": "norr-form", "key": "k1"}, "registryIdentityKey": {"existingSecret": "national-id", "key": "k2"}}})
    (rec,) = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "recruitment"]
    assert key_file_in(rec, pod_template(rec), "norr-form", "k1") == FORM_KEY_FILE
    (reg,) = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "registry"]
    assert key_file_in(reg, pod_template(reg), "national-id", "k2") == IDENTITY_KEY_FILE
    objs = render_values({"secrets": {"portfolioCredentialKey": {"existingSecret": "norr-credential", "key": "k3"}}})
    (pf,) = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "portfolio"]
    assert key_file_in(pf, pod_template(pf), "norr-credential", "k3") == CREDENTIAL_KEY_FILE
    assert config_of(objs)["portfolio"]["credential_key_file"] == CREDENTIAL_KEY_FILE


def test_changed_recruitment_values_reach_the_config_and_nested_tables_stay_tables():
    objs = render_values(
        {"config": {"recruitment": {"rules": {"mentor_cap": 8, "required_registers": ["REGISTER_ENFORCEMENT"]}, "matching": {"config_file": "/srv/weights.toml"}}}}
    )
    rec = config_of(objs)["recruitment"]
    assert rec["rules"]["mentor_cap"] == 8 and rec["rules"]["required_registers"] == ["REGISTER_ENFORCEMENT"]
    assert rec["rules"]["first_response_working_days"] == 5
    assert rec["matching"] == {"config_file": "/srv/weights.toml", "national_deadline_ms": 2000}
    check_against_config_rs(config_of(objs), "Config", "")
    # The schema check itself refuses what the binary would (a negative control).
    bad = config_of(render_values({"config": {"recruitment": {"rules": {"mentor_kap": 8}}}}))
    with pytest.raises(AssertionError, match=r"recruitment\.rules\.mentor_kap is not a field of Rules"):
        check_against_config_rs(bad, "Config", "")
    bad = config_of(render_values({"config": {"recruitment": {"rules": {"required_registers": ["REGISTER_UNSPECIFIED"]}}}}))
    with pytest.raises(AssertionError, match=r"not a Register of the protos"):
        check_against_config_rs(bad, "Config", "")


def test_services_find_their_registry_without_a_regional_gateway():
    objs = render_values({"gateway": {"enabled": False}})
    cfg = config_of(objs)
    assert "gateway" not in cfg
    assert cfg["regions"][REGIONS[0]] == {
        "registry": "http://registry:50051",
        "recruitment": "http://recruitment:50051",
        "compensation": "http://compensation:50051",
        "ombud": "http://ombud:50051",
        "portfolio": "http://portfolio:50051",
    }


@functools.lru_cache(maxsize=None)
def samling_binary() -> Path | None:
    """SAMLING_BIN, else target/debug/samling when it is newer than every
    Rust source (.ci/run runs these tests before it builds: a binary of
    older sources would judge today's chart by yesterday's config)."""
    import os

    if os.environ.get("SAMLING_BIN"):
        return Path(os.environ["SAMLING_BIN"])
    path = REPO / "target" / "debug" / "samling"
    if not (path.is_file() and os.access(path, os.X_OK)):
        return None
    built = path.stat().st_mtime
    sources = [f for d in ("src", "services", "gateway", "proto") for f in (REPO / d).rglob("*") if f.suffix in (".rs", ".proto", ".toml", ".csv")]
    return path if all(f.stat().st_mtime <= built for f in sources) else None


@pytest.mark.skipif(samling_binary() is None, reason="no samling binary of these sources (SAMLING_BIN, or target/debug/samling built after the last change)")
@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_the_binary_accepts_the_rendered_config(s: Scenario, tmp_path: Path):
    """The built binary parses samling.toml and every service's section
    (deny_unknown_fields) before any command; `serve --regions` with a region
    it does not know then stops it, after the check, without opening anything."""
    def run(text: str) -> str:
        path = tmp_path / "samling.toml"
        path.write_text(text, encoding="utf-8")
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        out = subprocess.run(
            [str(samling_binary()), "--config", str(path), "--data-dir", str(tmp_path), "serve", "--target", "registry", "--regions", "atlantis"],
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert out.returncode != 0
        return out.stderr

    objs = objects(s)
    cms = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] in ("samling-config", "samling-migrate-config")]
    texts = [t for cm in cms for k, t in cm["data"].items() if k.endswith(".toml")]
    if s.id == "everything-on":
        # Endpoints of services the binary does not run yet (see test_the_config_file_is_one_the_binary_accepts).
        texts = [re.sub(r"^(compensation|ombud|portfolio) = .*$", "", t, flags=re.M) for t in texts]
    assert texts
    for text in texts:
        err = run(text)
        assert "unknown region" in err and "atlantis" in err, err
    # A negative control: a key the binary does not know is refused, named.
    err = run(texts[0].replace("[recruitment.rules]\n", "[recruitment.rules]\nmentor_kap = 8\n"))
    assert "mentor_kap" in err and "unknown region" not in err, err


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict) and d:
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def test_region_values_files_differ_only_in_the_allowed_keys():
    flat = {r: flatten(load_values(f"values-{r}.yaml")) for r in REGIONS}
    first = REGIONS[0]
    for r in REGIONS:
        assert load_values(f"values-{r}.yaml")["region"] == r
        assert set(flat[r]) == set(flat[first]), f"values-{r}.yaml sets other keys than values-{first}.yaml"
        for key in flat[r]:
            if flat[r][key] != flat[first][key]:
                assert any(fnmatch.fnmatchcase(key, pat) for pat in REGION_DIFF_ALLOWED), (
                    f"{key} differs between values-{first}.yaml and values-{r}.yaml but is not in REGION_DIFF_ALLOWED"
                )
    # Names that must be unique per region are.
    for key in ("gateway.ingress.host", "gateway.ingress.tls.secretName", "secrets.database.existingSecret"):
        assert len({flat[r][key] for r in REGIONS}) == len(REGIONS), key


def test_region_files_only_set_keys_the_chart_defines():
    defaults = set(flatten(load_values("values.yaml")))
    for r in REGIONS:
        for key in flatten(load_values(f"values-{r}.yaml")):
            # A service's own block overrides serviceDefaults.
            alias = re.sub(r"^services\.\w+\.", "serviceDefaults.", key)
            assert key in defaults or alias in defaults, f"values-{r}.yaml: unknown key {key}"


def walk(d: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(d, dict):
        for k, v in d.items():
            yield from walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, path.rsplit(".", 1)[-1].split("[")[0], d


@pytest.mark.parametrize("name", ["values.yaml"] + [f"values-{r}.yaml" for r in REGIONS] + ["values-national.yaml"])
def test_values_files_hold_no_secret_material(name: str):
    for path, key, value in walk(load_values(name)):
        if not isinstance(value, str) or not value:
            continue
        assert "-----BEGIN" not in value, f"{name}: {path} holds a PEM block"
        assert not URL_WITH_PASSWORD.search(value), f"{name}: {path} holds a URL with a password"
        assert not HEX_KEY_MATERIAL.search(value), f"{name}: {path} holds what looks like key material"
        if SECRETISH_KEY.search(key):
            assert key in SECRET_REFERENCE_KEYS, f"{name}: {path} looks like a secret value; name a Secret instead"


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_secrets_reach_pods_only_by_reference(s: Scenario):
    # The chart creates no Secret: operators do (docs/operations.md).
    assert of_kind(s, "Secret") == []
    for o, t in workloads(s):
        for c in containers(t):
            for e in c.get("env", []):
                if e["name"] in ("SAMLING_DATABASE_URL",):
                    assert "secretKeyRef" in e.get("valueFrom", {}), f"{name_of(o)} {e['name']}"
                if "value" in e:
                    assert not URL_WITH_PASSWORD.search(e["value"]), f"{name_of(o)} {e['name']}"
    for cm in of_kind(s, "ConfigMap"):
        for k, v in cm.get("data", {}).items():
            assert not URL_WITH_PASSWORD.search(v) and "-----BEGIN" not in v, f"{name_of(cm)} {k}"


def render_values(extra: dict[str, Any], namespace: str = f"samling-{REGIONS[0]}") -> list[dict[str, Any]]:
    """Render values.yaml with `extra` on top (a one-off scenario)."""
    with helm.Chart.load(CHART) as chart:
        out = chart.render(extra, name=RELEASE, namespace=namespace, is_install=True)
    return [d for path, text in sorted(out.items()) if not path.endswith("NOTES.txt") for d in yaml.safe_load_all(text) if d]


def database_tls_of(objs: list[dict[str, Any]]) -> list[tuple[str, dict[str, str], str | None, str | None]]:
    """Per container that gets the database URL: (workload, PGSSL* env, the
    db-ca volume's secret and key, or None, and its mount path in the container)."""
    out = []
    for o in objs:
        t = pod_template(o)
        if t is None:
            continue
        for c in containers(t):
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            pg = {k: v for k, v in env.items() if k.startswith("PGSSL")}
            if "SAMLING_DATABASE_URL" not in env:
                assert pg == {}, f"{name_of(o)}/{c['name']} has no database but {pg}"
                continue
            vol = next((v for v in t["spec"].get("volumes", []) if v["name"] == "db-ca"), None)
            secret = f"{vol['secret']['secretName']}:{vol['secret']['items'][0]['key']}" if vol else None
            mount = next((m for m in c.get("volumeMounts", []) if m["name"] == "db-ca"), None)
            if mount:
                assert mount.get("readOnly") is True
                assert vol["secret"]["items"][0]["path"] == "ca.crt"
            out.append((name_of(o), pg, secret, mount["mountPath"] if mount else None))
    return out


@pytest.mark.parametrize("s", SCENARIOS, ids=ALL_IDS)
def test_every_database_client_checks_postgresqls_certificate_when_there_is_a_ca(s: Scenario):
    v = s.effective()
    tls = v["secrets"]["databaseTls"]
    clusters = of_kind(s, "Cluster")
    if tls["existingSecret"]:
        ca = f"{tls['existingSecret']}:{tls['key']}"
    elif v["postgresql"]["cnpg"]["enabled"]:
        ca = f"{clusters[0]['metadata']['name']}-ca:ca.crt"
    else:
        ca = None
    seen = database_tls_of(objects(s))
    if s.region:
        # The services, the migration hook and the audit check all connect.
        kinds = {w.split("/")[0] for w, *_ in seen}
        assert {"Deployment", "Job", "CronJob"} <= kinds, seen
    for workload, pg, secret, mount in seen:
        assert secret == ca, workload
        if ca:
            assert mount == "/etc/samling/db-ca", workload
            assert pg == {"PGSSLMODE": tls["sslMode"] or "verify-full", "PGSSLROOTCERT": "/etc/samling/db-ca/ca.crt"}, workload
        else:
            assert mount is None, workload
            assert pg == ({"PGSSLMODE": tls["sslMode"]} if tls["sslMode"] else {}), workload


def test_a_database_ca_and_tls_mode_can_be_named_and_a_wrong_mode_is_refused():
    objs = render_values({"secrets": {"databaseTls": {"existingSecret": "norr-db-ca", "key": "bundle.pem", "sslMode": "verify-ca"}}})
    seen = database_tls_of(objs)
    assert seen and all(
        secret == "norr-db-ca:bundle.pem"
        and mount == "/etc/samling/db-ca"
        and pg == {"PGSSLMODE": "verify-ca", "PGSSLROOTCERT": "/etc/samling/db-ca/ca.crt"}
        for _, pg, secret, mount in seen
    ), seen
    # TLS demanded without a CA of our own: the mode alone, no mount.
    seen = database_tls_of(render_values({"secrets": {"databaseTls": {"sslMode": "require"}}}))
    assert seen and all(pg == {"PGSSLMODE": "require"} and secret is None for _, pg, secret, _ in seen), seen
    with pytest.raises(Exception, match="secrets.databaseTls.sslMode"):
        render_values({"secrets": {"databaseTls": {"sslMode": "verify_full"}}})


def test_everything_on_renders_the_optional_parts():
    s = next(s for s in SCENARIOS if s.id == "everything-on")
    kinds = {o["kind"] for o in objects(s)}
    assert {"Cluster", "ScheduledBackup", "PrometheusRule", "Ingress"} <= kinds
    names = {d["metadata"]["name"] for d in of_kind(s, "Deployment")}
    assert names == {"registry", "recruitment", "compensation", "ombud", "portfolio", "gateway", "redis"}
    # With the in-chart database the services use the operator's app secret.
    d = next(d for d in of_kind(s, "Deployment") if d["metadata"]["name"] == "registry")
    env = {e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SAMLING_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "samling-pg-app", "key": "uri"}


def test_every_alert_is_documented_in_the_runbook():
    s = next(s for s in SCENARIOS if s.id == "everything-on")
    (rule,) = of_kind(s, "PrometheusRule")
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    names = {r["alert"] for r in alerts}
    assert names == {
        "SamlingHighErrorRate",
        "SamlingHighLatency",
        "SamlingAuditChainVerificationFailed",
        "SamlingEventFeedLag",
        "SamlingPodRestarting",
        "SamlingPostgresDown",
    }
    headings = {m.group(1) for m in re.finditer(r"^#{2,4} (Samling\w+)\s*$", OPERATIONS.read_text(encoding="utf-8"), re.M)}
    for r in alerts:
        assert r["alert"] in headings, f"docs/operations.md has no section for {r['alert']}"
        assert r["annotations"]["runbook_url"].endswith("#" + r["alert"].lower())
    audit = next(r for r in alerts if r["alert"] == "SamlingAuditChainVerificationFailed")
    assert "kube_job_status_failed" in audit["expr"] and "audit-verify" in audit["expr"]


def test_the_prometheus_rule_is_off_by_default():
    assert load_values("values.yaml")["monitoring"]["prometheusRule"]["enabled"] is False
    for s in SCENARIOS:
        if not s.id.startswith("everything"):
            assert of_kind(s, "PrometheusRule") == []


# --------------------------------------------------------------------------
# The Grafana dashboard


def test_the_red_dashboard_is_a_well_formed_grafana_dashboard():
    d = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert d["uid"] and d["title"] and isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 36
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in d["templating"]["list"]}
    assert {"datasource", "namespace", "service", "method"} <= variables
    exprs = []
    for p in d["panels"]:
        assert p["type"] in ("row", "timeseries", "stat", "table"), p["type"]
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0
        for t in p.get("targets", []):
            assert t["refId"] and t["expr"]
            assert t["datasource"]["uid"] == "${datasource}"
            exprs.append(t["expr"])
    for e in exprs:
        assert e.count("(") == e.count(")") and e.count("{") == e.count("}"), e
        for var in re.findall(r"\$(\w+)", e):
            assert var in variables or var.startswith("__"), f"undefined variable ${var} in {e}"
    text = "\n".join(exprs)
    # Rate, errors and duration quantiles per RPC, by OpenTelemetry's names.
    assert "rpc_server_duration_milliseconds_count" in text
    for q in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({q}, sum by (le, rpc_service, rpc_method) (rate(rpc_server_duration_milliseconds_bucket" in text
    assert "rpc_grpc_status_code" in text


# --------------------------------------------------------------------------
# services/kit/src/config.rs as the schema of samling.toml


@functools.lru_cache(maxsize=None)
def module_names() -> list[str]:
    """The services the binary runs: `samling_<svc>::module()` in src/modules.rs."""
    src = (REPO / "src" / "modules.rs").read_text(encoding="utf-8")
    names = re.findall(r"samling_(\w+)::module\(\)", src)
    assert names, "cannot read the module list from src/modules.rs"
    return names


STRUCT_RE = re.compile(r"pub struct (\w+)\s*\{(.*?)\n\}", re.S)
FIELD_RE = re.compile(r"^\s*pub (\w+):\s*([^\n]+?),\s*$", re.M)


def rust_structs(src: str) -> dict[str, dict[str, str]]:
    return {m.group(1): {f.group(1): f.group(2).strip() for f in FIELD_RE.finditer(m.group(2))} for m in STRUCT_RE.finditer(src)}


def crate_module_file(crate: Path, modpath: list[str]) -> Path:
    """`crate::a::b` of the crate at `crate`: src/a/b.rs or src/a/b/mod.rs."""
    base = crate / "src" / Path(*modpath)
    for candidate in (base.with_suffix(".rs"), base / "mod.rs"):
        if candidate.exists():
            return candidate
    raise AssertionError(f"cannot find module crate::{'::'.join(modpath)} under {crate}")


def crate_types(crate: Path, src: str) -> dict[str, dict[str, str]]:
    """The structs a service's config.rs uses from its own crate, found by
    `use crate::…::T;` or a `crate::…::T` path in a field, recursively."""
    out: dict[str, dict[str, str]] = {}
    paths = set(re.findall(r"^use crate::((?:\w+::)*\w+);", src, re.M))
    paths |= set(re.findall(r"\bcrate::((?:\w+::)+\w+)", src))
    for path in sorted(paths):
        *modpath, name = path.split("::")
        if not modpath or not name[:1].isupper():
            continue
        file_src = crate_module_file(crate, modpath).read_text(encoding="utf-8")
        found = rust_structs(file_src)
        assert name in found, f"struct {name} not found in crate::{'::'.join(modpath)}"
        out[name] = found[name]
        out.update(crate_types(crate, file_src[file_src.index(f"pub struct {name}") :].split("\n}\n", 1)[0]))
    return out


@functools.lru_cache(maxsize=None)
def config_structs() -> dict[str, dict[str, str]]:
    structs = rust_structs(CONFIG_RS.read_text(encoding="utf-8"))
    # Each service's own section (`[registry]`) is its crate's config.rs
    # (`RegistryConfig`), flattened into Config's `services`, with the
    # structs of its crate it uses (recruitment's `Rules`, `MatchingSettings`).
    for name in module_names():
        crate = REPO / "services" / name
        path = crate / "src" / "config.rs"
        if path.exists():
            src = path.read_text(encoding="utf-8")
            # A crate's own structs are scoped by its name (`recruitment::Rules`;
            # compensation has a `Rules` of its own), found first from its section.
            for sname, fields in {**rust_structs(src), **crate_types(crate, src)}.items():
                structs[f"{name}::{sname}"] = fields
    assert "Config" in structs and structs["Config"], "cannot read the Config struct from config.rs"
    return structs


@functools.lru_cache(maxsize=None)
def proto_enums() -> dict[str, set[str]]:
    """Enums of the services' protos: name → value names (UNSPECIFIED left out,
    as config's `from_str_name` readers refuse it)."""
    out: dict[str, set[str]] = {}
    for proto in sorted((REPO / "proto" / "samling").glob("*/v1/*.proto")):
        for m in re.finditer(r"^enum (\w+)\s*\{(.*?)^\}", proto.read_text(encoding="utf-8"), re.S | re.M):
            values = set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*=", m.group(2), re.M))
            out.setdefault(m.group(1), set()).update(v for v in values if not v.endswith("_UNSPECIFIED"))
    return out


def check_against_config_rs(table: dict[str, Any], struct: str, path: str, scope: str = "") -> None:
    structs = config_structs()
    fields = structs[f"{scope}::{struct}"] if f"{scope}::{struct}" in structs else structs[struct]
    for key, value in table.items():
        where = f"{path}{key}"
        if struct == "Config" and key not in fields and key in module_names():
            # A service's section: its crate's `<Service>Config`.
            assert isinstance(value, dict), f"{where} must be a table"
            check_against_config_rs(value, key.capitalize() + "Config", where + ".", key)
            continue
        assert key in fields, f"samling.toml: {where} is not a field of {struct} in config.rs (deny_unknown_fields)"
        check_type(value, fields[key], where, scope)


def check_type(value: Any, ty: str, where: str, scope: str = "") -> None:
    structs = config_structs()
    if ty == "RegionEndpoints":
        # `pub type RegionEndpoints = BTreeMap<String, String>`: service → URL,
        # and the binary refuses a service it does not run.
        assert isinstance(value, dict), f"{where} must be a table"
        for k, v in value.items():
            assert k in module_names(), f"{where}.{k}: not a service of src/modules.rs"
            check_type(v, "String", f"{where}.{k}")
        return
    opt = re.fullmatch(r"Option<(.+)>", ty)
    if opt:
        ty = opt.group(1)
    if "<" not in ty:
        ty = ty.rsplit("::", 1)[-1]  # std::path::PathBuf, crate::service::matching::MatchingSettings
    if f"{scope}::{ty}" in structs or ty in structs:
        assert isinstance(value, dict), f"{where} must be a table"
        check_against_config_rs(value, ty, where + ".", scope)
        return
    m = re.fullmatch(r"BTreeMap<String,\s*(.+)>", ty)
    if m:
        assert isinstance(value, dict), f"{where} must be a table"
        for k, v in value.items():
            check_type(v, m.group(1), f"{where}.{k}", scope)
        return
    m = re.fullmatch(r"Vec<(.+)>", ty)
    if m:
        assert isinstance(value, list), f"{where} must be an array"
        for i, v in enumerate(value):
            check_type(v, m.group(1), f"{where}[{i}]", scope)
        return
    if ty in ("String", "PathBuf"):
        assert isinstance(value, str), f"{where} must be a string"
    elif ty in ("u8", "u16", "u32", "u64", "usize"):
        assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, f"{where} must be a non-negative integer"
    elif ty in ("i32", "i64"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{where} must be an integer"
    elif ty == "bool":
        assert isinstance(value, bool), f"{where} must be a boolean"
    elif ty in proto_enums():
        # Read by name (`Register::from_str_name`): REGISTER_CRIMINAL_RECORDS.
        assert value in proto_enums()[ty], f"{where}: {value!r} is not a {ty} of the protos"
    else:
        pytest.fail(f"{where}: config.rs type {ty} is unknown to this test; teach check_type")


def run_samling(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run([str(samling_binary()), *args], env=env, capture_output=True, text=True, timeout=120)


def pod_on_disk(s: Scenario, o: dict[str, Any], root: Path, tmp_path: Path) -> Path:
    """A job's pod as files under `root`: every volume at its mount path (its
    Secret items as fresh hex keys, a whole TLS Secret as `samling certs dev`
    material, its ConfigMap items as rendered) and nothing else. Returns its
    samling.toml with the pod's absolute paths moved under `root`."""
    t = pod_template(o)
    (c,) = t["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    cms = {cm["metadata"]["name"]: cm for cm in of_kind(s, "ConfigMap")}
    for vol in t["spec"]["volumes"]:
        at = root / mounts[vol["name"]].lstrip("/")
        at.mkdir(parents=True, exist_ok=True)
        if "secret" in vol and "items" in vol["secret"]:
            for item in vol["secret"]["items"]:
                (at / item["path"]).write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        elif "secret" in vol:
            assert vol["secret"]["secretName"] == s.effective()["secrets"]["grpcTls"]["existingSecret"], vol
            out = run_samling(["certs", "dev", "--out", str(at), "--data-dir", str(tmp_path / "certs")], tmp_path)
            assert out.returncode == 0, out.stderr
        elif "configMap" in vol:
            data = cms[vol["configMap"]["name"]]["data"]
            items = vol["configMap"].get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                text = data[item["key"]]
                text = re.sub(r"^otlp_endpoint = .*$", "", text, flags=re.M)  # no collector here
                text = text.replace('"/etc/samling/', f'"{root}/etc/samling/').replace('"/var/lib/', f'"{root}/var/lib/')
                (at / item["path"]).write_text(text, encoding="utf-8")
    config = root / "etc/samling/config/samling.toml"
    assert config.exists()
    return config


BINARY_JOB_SCENARIOS = [s for s in SCENARIOS if s.id in ("values.yaml", "everything-built-on")]


@pytest.mark.skipif(samling_binary() is None, reason="no samling binary of these sources (SAMLING_BIN, or target/debug/samling built after the last change)")
@pytest.mark.parametrize("s", BINARY_JOB_SCENARIOS, ids=[s.id for s in BINARY_JOB_SCENARIOS])
def test_the_jobs_open_every_store_with_only_what_they_mount(s: Scenario, tmp_path: Path):
    """The migration hook and the audit check run `samling migrate` / `audit
    verify`, which open every service's store: run with their own
    samling.toml and files only where the pod mounts them (on SQLite, under a
    temporary root), both succeed for every service — recruitment without
    the form key, the registry with the mounted identity key (none created).
    The services' samling.toml in the same pod fails on the form key."""
    jobs = [o for o in objects(s) if o["kind"] in ("Job", "CronJob")]
    assert {o["kind"] for o in jobs} == {"Job", "CronJob"}
    for o in jobs:
        root = tmp_path / o["kind"]
        config = pod_on_disk(s, o, root, tmp_path)
        assert (root / IDENTITY_KEY_FILE.lstrip("/")).exists() and not (root / FORM_KEY_FILE.lstrip("/")).exists()
        (c,) = pod_template(o)["spec"]["containers"]
        out = run_samling(["--config", str(config), *c["args"]], tmp_path)
        assert out.returncode == 0, f"{name_of(o)}: {out.stderr[-2000:]}"
        for name in module_names():
            assert re.search(rf"^region {s.region}:? {name}[: ]", out.stdout, re.M), out.stdout
        # The identity key used is the mounted one: none was made under the data dir.
        assert not (root / "var/lib/samling/keys/registry-identity.key").exists()
        services = tomllib.loads(next(cm for cm in of_kind(s, "ConfigMap") if cm["metadata"]["name"] == "samling-config")["data"]["samling.toml"])
        assert tomllib.loads(config.read_text(encoding="utf-8").replace(str(root), "")) == without_form_key(services) | (
            {} if "otlp_endpoint" not in services["telemetry"] else {"telemetry": {k: x for k, x in services["telemetry"].items() if k != "otlp_endpoint"}}
        )
    # The negative control: the services' file where the hook runs.
    (job,) = of_kind(s, "Job")
    root = tmp_path / "services-config"
    config = pod_on_disk(s, job, root, tmp_path)
    services = next(cm for cm in of_kind(s, "ConfigMap") if cm["metadata"]["name"] == "samling-config")["data"]["samling.toml"]
    config.write_text(services.replace('"/etc/samling/', f'"{root}/etc/samling/').replace('"/var/lib/', f'"{root}/var/lib/'), encoding="utf-8")
    out = run_samling(["--config", str(config), *pod_template(job)["spec"]["containers"][0]["args"]], tmp_path)
    assert out.returncode != 0 and "form_token_key_file" in out.stderr, out.stderr[-2000:]
