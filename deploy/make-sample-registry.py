#!/usr/bin/env python3
"""Writes the sample federation registry into Peers/: the city, the 16 districts, the G60 cities and the three
provincial platforms, each with a freshly generated DEVELOPMENT signing key (made by `xgate keys generate`; the
private halves are thrown away), and the sharing agreements.

    python3 deploy/make-sample-registry.py --xgate .build/debug/xgate --out Peers

Re-running replaces every key. Real deployments enrol each node with the node's own key instead
(see README, "Enrolling a node").
"""
import argparse
import json
import os
import subprocess
import tempfile

DISTRICTS = [  # GB/T 2260 codes, DOMAIN.md §1
    ("sh-huangpu", "黄浦区", "310101"), ("sh-xuhui", "徐汇区", "310104"), ("sh-changning", "长宁区", "310105"),
    ("sh-jingan", "静安区", "310106"), ("sh-putuo", "普陀区", "310107"), ("sh-hongkou", "虹口区", "310109"),
    ("sh-yangpu", "杨浦区", "310110"), ("sh-minhang", "闵行区", "310112"), ("sh-baoshan", "宝山区", "310113"),
    ("sh-jiading", "嘉定区", "310114"), ("sh-pudong", "浦东新区", "310115"), ("sh-jinshan", "金山区", "310116"),
    ("sh-songjiang", "松江区", "310117"), ("sh-qingpu", "青浦区", "310118"), ("sh-fengxian", "奉贤区", "310120"),
    ("sh-chongming", "崇明区", "310151"),
]
G60_CITIES = [  # G60科创走廊 members besides Songjiang
    ("zj-jiaxing", "嘉兴市", "330400"), ("zj-hangzhou", "杭州市", "330100"), ("zj-jinhua", "金华市", "330700"),
    ("js-suzhou", "苏州市", "320500"), ("zj-huzhou", "湖州市", "330500"), ("ah-xuancheng", "宣城市", "341800"),
    ("ah-wuhu", "芜湖市", "340200"), ("ah-hefei", "合肥市", "340100"),
]
PROVINCES = [("js-province", "江苏省", "320000"), ("zj-province", "浙江省", "330000"), ("ah-province", "安徽省", "340000")]

NOT_BEFORE = "2026-01-01T00:00:00+08:00"
NOT_AFTER = "2027-12-31T23:59:59+08:00"
NOTE = ("DEVELOPMENT KEY (开发测试用): generated for the sample federation, private half discarded. "
        "Never use in production; enrol the node's own key. TLS pins are empty until the node's certificate is issued.")

PERSON_IDS = ["/subject/idNumber", "/subject/legalRepresentative/idNumber", "/subject/operator/idNumber"]
ALL_KINDS = ["administrative-licence", "administrative-penalty", "serious-dishonesty-list", "dishonest-judgment-debtor",
             "abnormal-operations-list", "red-list", "credit-commitment", "contract-performance"]
JOINT_LISTS = ["serious-dishonesty-list", "dishonest-judgment-debtor", "abnormal-operations-list", "red-list"]


def partner_grants():
    return [
        {"kinds": ["administrative-penalty", "administrative-licence"], "subjects": ["legal-person"],
         "mask": ["/subject/legalRepresentative/idNumber"]},
        {"kinds": ["dishonest-judgment-debtor"], "mask": []},  # the court list publishes full ID numbers on purpose
        {"kinds": ["serious-dishonesty-list", "abnormal-operations-list", "red-list"], "mask": PERSON_IDS},
    ]


AGREEMENTS = [
    {"id": "districts-to-city", "title": "区信用子平台向市公共信用信息服务平台归集公共信用信息",
     "basis": "《上海市社会信用条例》；《上海市公共信用信息归集和使用管理办法》",
     "from": ["role:district"], "to": ["sh-city"], "grants": [{"kinds": ALL_KINDS, "mask": []}],
     "validFrom": "2026-01-01", "validTo": None},
    {"id": "city-to-districts-joint-lists", "title": "市平台向各区推送联合奖惩名单（逢办必查）",
     "basis": "《国务院关于建立完善守信联合激励和失信联合惩戒制度加快推进社会诚信建设的指导意见》（国发〔2016〕33号）；《上海市社会信用条例》",
     "from": ["sh-city"], "to": ["role:district"], "grants": [{"kinds": JOINT_LISTS, "mask": []}],
     "validFrom": "2026-01-01", "validTo": None},
    {"id": "city-to-partners", "title": "上海市向长三角及G60合作地区共享信用信息",
     "basis": "长三角地区社会信用体系建设合作协议；G60科创走廊信用合作协议",
     "from": ["sh-city"], "to": ["role:partner"], "grants": partner_grants(),
     "validFrom": "2026-01-01", "validTo": None},
    {"id": "partners-to-city", "title": "长三角及G60合作地区向上海市共享信用信息",
     "basis": "长三角地区社会信用体系建设合作协议；G60科创走廊信用合作协议",
     "from": ["role:partner"], "to": ["sh-city"], "grants": partner_grants(),
     "validFrom": "2026-01-01", "validTo": None},
]


def nodes():
    yield {"id": "sh-city", "name": "上海市公共信用信息服务平台", "roles": ["city"], "groups": ["shanghai", "yrd"],
           "division": "310000"}
    for node_id, name, code in DISTRICTS:
        node = {"id": node_id, "name": f"上海市{name}公共信用信息服务分平台", "roles": ["district"],
                "groups": ["shanghai"], "division": code}
        if node_id == "sh-songjiang":  # a Shanghai district and a G60 member: one node, both roles
            node["roles"] = ["district", "partner"]
            node["groups"] = ["shanghai", "g60", "yrd"]
        yield node
    for node_id, name, code in G60_CITIES:
        yield {"id": node_id, "name": f"{name}公共信用信息平台", "roles": ["partner"], "groups": ["g60", "yrd"], "division": code}
    for node_id, name, code in PROVINCES:
        yield {"id": node_id, "name": f"{name}公共信用信息平台", "roles": ["partner"], "groups": ["yrd"], "division": code}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xgate", required=True, help="path to the xgate executable")
    parser.add_argument("--out", default="Peers")
    args = parser.parse_args()
    os.makedirs(f"{args.out}/nodes", exist_ok=True)
    os.makedirs(f"{args.out}/agreements", exist_ok=True)
    with tempfile.TemporaryDirectory() as keys:
        for node in nodes():
            subprocess.run([args.xgate, "keys", "generate", "--node", node["id"], "--out", keys],
                           check=True, capture_output=True, text=True)
            with open(f"{keys}/{node['id']}.jwk.json") as f:
                jwk = json.load(f)
            peer = dict(node)
            peer["endpoint"] = f"https://{node['id']}.xgate.example:8443"
            peer["keys"] = [{"jwk": jwk, "notBefore": NOT_BEFORE, "notAfter": NOT_AFTER}]
            peer["tls"] = {"pins": []}
            peer["development"] = True
            peer["note"] = NOTE
            with open(f"{args.out}/nodes/{node['id']}.json", "w") as f:
                json.dump(peer, f, ensure_ascii=False, indent=2)
                f.write("\n")
    for agreement in AGREEMENTS:
        with open(f"{args.out}/agreements/{agreement['id']}.json", "w") as f:
            json.dump(agreement, f, ensure_ascii=False, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
