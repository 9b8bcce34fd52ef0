"""Checks a data package written by `trustpulse export datapackage`: the
Frictionless validator accepts it, and pandas loads responses.csv with the
types its Table Schema declares (the loading snippet of the package's README).

usage: python3 .ci/check_datapackage.py PACKAGE.zip
"""

import json
import subprocess
import sys
import tempfile
import zipfile

import pandas as pd

PANDAS = {"integer": "Int64", "number": "float64", "string": "string"}


def main(path: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        zipfile.ZipFile(path).extractall(folder)
        subprocess.run(
            ["frictionless", "validate", "datapackage.json"], cwd=folder, check=True
        )
        package = json.load(open(f"{folder}/datapackage.json", encoding="utf-8"))
        schema = package["resources"][0]["schema"]
        fields = schema["fields"]
        df = pd.read_csv(
            f"{folder}/responses.csv",
            keep_default_na=False,
            na_values=schema["missingValues"],
            dtype={f["name"]: PANDAS[f["type"]] for f in fields if f["type"] in PANDAS},
            parse_dates=["submitted_date"],
        )
    assert list(df.columns) == [f["name"] for f in fields], "columns in schema order"
    for f in fields:
        kind = str(df[f["name"]].dtype)
        wanted = PANDAS.get(f["type"], "datetime64")
        assert kind.startswith(wanted), f"{f['name']}: {kind}, schema says {f['type']}"
        limits = f.get("constraints", {})
        column = df[f["name"]].dropna()
        if "minimum" in limits and f["type"] == "integer":
            assert column.between(limits["minimum"], limits["maximum"]).all(), f["name"]
        if "enum" in limits:
            assert set(column) <= set(limits["enum"]), f["name"]
    assert df["response_id"].is_unique, "response_id is the primary key"
    assert df["submitted_date"].is_monotonic_increasing, "ordered by date"
    assert (df["weight"] > 0).all() and (df["base_weight"] > 0).all()
    # The demo's scale has "don't know" answers: read as missing, not as text.
    assert df["portal_trust"].isna().any(), "dk is read as missing"
    print(
        f"pandas read {len(df)} responses x {len(df.columns)} columns with the schema's types; "
        f"weighted mean of portal_trust = "
        f"{(df['portal_trust'] * df['weight']).sum() / df.loc[df['portal_trust'].notna(), 'weight'].sum():.3f}"
    )


if __name__ == "__main__":
    main(sys.argv[1])
