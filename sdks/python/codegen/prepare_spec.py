"""Writes a copy of openapi.yaml that openapi-python-client can turn into types.

openapi.yaml keeps validation rules the generator cannot model: `anyOf`
branches that only narrow an object's own properties ("at least one of
alert, badge, ..."; "APNs fields all together or none"), and `allOf` used to
add fields to a shared base (`SendNotificationRequest` is `Notification` plus
`user_id`). The server enforces those rules; a client only needs the fields.
So, in every object schema that has `properties`:

- `allOf` members are merged into the object (a `$ref` member's properties
  and `required` included), then
- `anyOf`/`oneOf`/`allOf` whose branches are not `$ref`s (pure narrowing)
  are dropped, with `unevaluatedProperties`, `propertyNames`, `contains`;

a nullable enum (`type: [string, "null"]`, `enum: [..., null]`) becomes
one enum or null, rather than one type per value; and a free-form object
(`data`) is left untyped, so that it takes a plain dict rather than a
generated wrapper class.

Nothing else changes: names, operations, parameters and responses are
openapi.yaml's. Usage: prepare_spec.py OPENAPI_YAML OUTPUT_JSON
"""

import copy
import json
import sys

import yaml

NARROWING_ONLY_KEYS = ("unevaluatedProperties", "propertyNames", "contains")


def resolve(spec, ref):
    node = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def only_narrowing(branches):
    """Branches that restate the object's own properties, none a schema of its own."""
    return all(isinstance(branch, dict) and "$ref" not in branch for branch in branches)


def merge_all_of(spec, schema):
    members = schema.pop("allOf")
    merged = {key: value for key, value in schema.items()}
    properties = dict(merged.get("properties", {}))
    required = list(merged.get("required", []))
    kept_branches = []
    for member in members:
        if "$ref" in member:
            member = copy.deepcopy(resolve(spec, member["$ref"]))
        if "properties" not in member and "required" not in member:
            kept_branches.append(member)
            continue
        for name, prop in member.get("properties", {}).items():
            properties.setdefault(name, prop)
        for name in member.get("required", []):
            if name not in required:
                required.append(name)
        merged.setdefault("description", member.get("description"))
        if member.get("additionalProperties") is False:
            merged["additionalProperties"] = False
    merged["type"] = "object"
    merged["properties"] = properties
    if required:
        merged["required"] = required
    if kept_branches:
        merged["allOf"] = kept_branches
    if merged.get("description") is None:
        merged.pop("description", None)
    return merged


def split_nullable_enum(node):
    """`type: [string, "null"], enum: [a, b, null]` as one enum or null."""
    values = node["enum"]
    types = node.get("type")
    if None not in values or not isinstance(types, list):
        return node
    rest = {key: value for key, value in node.items() if key not in ("enum", "type")}
    non_null = [kind for kind in types if kind != "null"]
    enum = {"type": non_null[0] if len(non_null) == 1 else non_null,
            "enum": [value for value in values if value is not None]}
    return {**rest, "anyOf": [enum, {"type": "null"}]}


def is_free_form_object(node):
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    return (
        "object" in types
        and "properties" not in node
        and node.get("additionalProperties", True) is True
        and set(types) <= {"object", "null"}
    )


def simplify(spec, node):
    if isinstance(node, list):
        return [simplify(spec, item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: simplify(spec, value) for key, value in node.items()}
    if "enum" in node:
        node = split_nullable_enum(node)
    if is_free_form_object(node):
        node = {key: value for key, value in node.items() if key not in ("type", "additionalProperties")}
    is_object = "properties" in node or node.get("type") == "object"
    if is_object and "allOf" in node and any(
        "$ref" in member or "properties" in member for member in node["allOf"]
    ):
        node = merge_all_of(spec, node)
    if "properties" in node:
        for key in ("anyOf", "oneOf", "allOf"):
            if key in node and only_narrowing(node[key]):
                del node[key]
        for key in NARROWING_ONLY_KEYS:
            node.pop(key, None)
    return node


def main(source, target):
    with open(source, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    # Merging reads the original schemas; simplify() works on a copy.
    prepared = simplify(spec, copy.deepcopy(spec))
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(prepared, handle, indent=1, sort_keys=True)
        handle.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
