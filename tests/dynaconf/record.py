"""Records what the real Dynaconf 3.1.7 reads for each case of cases.json (run by record.sh)."""
import json, os, sys, tempfile
from dynaconf import Dynaconf
import dynaconf

here = os.path.dirname(os.path.abspath(__file__))
cases = json.load(open(os.path.join(here, "cases.json")))

def typed(v):
    if v is None: return {"type": "none", "value": None}
    if isinstance(v, bool): return {"type": "bool", "value": v}
    if isinstance(v, int): return {"type": "int", "value": v}
    if isinstance(v, float): return {"type": "float", "value": v}
    if isinstance(v, str): return {"type": "str", "value": v}
    if isinstance(v, (list, tuple)): return {"type": "list", "value": [typed(x) for x in v]}
    if hasattr(v, "items"): return {"type": "dict", "value": {k: typed(x) for k, x in v.items()}}
    return {"type": type(v).__name__, "value": str(v)}

out = {"dynaconf": getattr(dynaconf, "__version__", None) or __import__("importlib.metadata").metadata.version("dynaconf"), "cases": []}
for case in cases:
    with tempfile.TemporaryDirectory() as d:
        for name, text in case.get("files", {}).items():
            open(os.path.join(d, name), "w").write(text)
        saved = dict(os.environ)
        for k in list(os.environ):
            if k.startswith("CCAT_WORKFLOW_MANAGER_") or k.endswith("_FOR_DYNACONF"): del os.environ[k]
        os.environ.update(case.get("env", {}))
        files = [os.path.join(d, "settings.toml")] if "settings.toml" in case.get("files", {}) else []
        # The module reads .secrets.toml beside the settings file; Dynaconf is told so (secrets=),
        # as the Python service does through SECRETS_FOR_DYNACONF.
        secrets = os.path.join(d, ".secrets.toml")
        s = Dynaconf(envvar_prefix="CCAT_WORKFLOW_MANAGER", settings_files=files, environments=True,
                     env_switcher="ENV_FOR_DYNACONF", load_dotenv=False,
                     **({"secrets": secrets} if os.path.exists(secrets) else {}))
        got = {k: typed(s.get(k)) for k in case["keys"]}
        os.environ.clear(); os.environ.update(saved)
    out["cases"].append({"name": case["name"], "values": got})
json.dump(out, open(os.path.join(here, "recorded.json"), "w"), indent=2, sort_keys=True)
print("recorded", len(out["cases"]), "cases with Dynaconf", getattr(dynaconf, "__version__", None) or __import__("importlib.metadata").metadata.version("dynaconf"))
