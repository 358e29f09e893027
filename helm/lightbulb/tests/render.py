"""Renders the chart for the chart test (agent/tests/helm_chart.rs): with
default values, with tests/production.yaml, and with cert-manager and the
trial ClickHouse; lints it; validates every manifest with
kubernetes-validate; and tries values the schema must refuse. Prints one
JSON object: {"sets": {name: [manifest, ...]}, "lint": ..., "invalid": [...],
"refused": [{"values", "error"}], "accepted": [...]}.
"""
import json
import pathlib
import sys

import helm_python as helm
import kubernetes_validate
import yaml

CHART = pathlib.Path(__file__).resolve().parent.parent
KUBERNETES = "1.30.0"


def manifests(rendered):
    out = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc.setdefault("metadata", {}).setdefault("annotations", {})
                out.append({"template": path, "object": doc})
    return out


def main():
    chart = helm.Chart.load(str(CHART))
    production = helm.values_from_yaml((CHART / "tests" / "production.yaml").read_text())
    sets = {
        "default": None,
        "production": production,
        "cert-manager": {
            "tls": {"certManager": {"enabled": True, "issuerRef": {"name": "lightbulb-ca"}}},
            "store": {"kind": "clickhouse", "clickhouse": {"deploy": True}},
        },
    }
    out = {"sets": {}, "invalid": [], "refused": [], "accepted": []}
    for name, values in sets.items():
        chart.validate_schema(values)
        rendered = chart.render(values, name="lb", namespace="monitoring", is_install=True)
        docs = manifests(rendered)
        out["sets"][name] = docs
        for d in docs:
            obj = d["object"]
            if obj["apiVersion"].startswith("cert-manager.io/"):
                continue  # a CRD: kubernetes-validate knows the built-in kinds
            try:
                kubernetes_validate.validate(obj, KUBERNETES, strict=True)
            except Exception as e:  # noqa: BLE001 - every failure is reported
                out["invalid"].append(f"{name}: {d['template']} {obj['kind']}: {e}")
        out["sets"][name + ":notes"] = rendered.get("lightbulb/templates/NOTES.txt", "")
    report = helm.lint(str(CHART), production, strict=True)
    out["lint"] = report
    bad = [
        {"store": {"kind": "sqlite"}, "collector": {"replicas": 2}},
        {"store": {"kind": "sqlite"}, "collector": {"autoscaling": {"enabled": True}}},
        {"store": {"kind": "clickhouse"}},
        {"store": {"kind": "mysql"}},
        {"collector": {"authMode": "open"}},
        {"collector": {"service": {"httpPort": 70000}}},
        {"agent": {"spoolHostPath": "relative/spool"}},
        {"tls": {"certManager": {"enabled": True}}},
        {"catalog": {"enabled": True}},
        {"colector": {"replicas": 1}},
    ]
    for values in bad:
        try:
            chart.validate_schema(values)
            out["accepted"].append(values)
        except Exception as e:  # noqa: BLE001
            out["refused"].append({"values": values, "error": str(e)})
    json.dump(out, sys.stdout)


main()
