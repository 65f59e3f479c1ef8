#!/usr/bin/env python3
"""Test data for tests/bench/bulk.sh: N customer records (Chinese, Korean and Western
people and organisations) as NDJSON for POST /v1/customers/bulk, the same rows with ids as
CSV for psql's \\copy, and as csrd's bulk-statement parameter ([{"id","j"}]); in parts."""
import csv
import json
import os
import random
import sys
import time

n_total, per_part, run_id, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(20261124)

CN_SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
               ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou")]
CN_GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"),
            ("静", "jing"), ("强", "qiang"), ("磊", "lei"), ("洋", "yang"), ("婷婷", "tingting")]
KR_SURNAMES = [("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi"), ("정", "jung")]
KR_GIVEN = [("민준", "minjun"), ("서연", "seoyeon"), ("지호", "jiho"), ("하은", "haeun"),
            ("도윤", "doyun"), ("수아", "sua")]
EN_FIRST = ["James", "Mary", "Olivia", "Liam", "Sofia", "Lucas", "Emma", "Noah", "Ana", "Omar"]
EN_LAST = ["Smith", "García", "Müller", "O'Brien", "Nguyen", "Rossi", "Dubois", "Khan"]
CN_ORGS = ["华联贸易", "东方电子", "长江物流", "金桥科技", "新世纪百货", "海天食品"]
EN_ORGS = ["Northwind Trading", "Blue Harbor Logistics", "Acme Components", "Sunrise Foods"]
CITIES = {"CN": ["Shanghai", "Beijing", "Hangzhou", "Shenzhen", "Chengdu", "上海", "广州"],
          "KR": ["Seoul", "Busan", "Incheon", "서울"],
          "US": ["San Francisco", "New York", "Austin"],
          "DE": ["Berlin", "München"], "GB": ["London"]}
TAGS = ["wechat", "newsletter", "b2b", "returning", "vip-2024", "售后", "高价值", "kakao"]
TIERS = ["vip"] * 5 + ["key"] * 10 + ["regular"] * 70 + ["minor"] * 15
STATUSES = ["active"] * 75 + ["prospect"] * 10 + ["inactive"] * 10 + ["lost"] * 5


def digits(k):
    return f"{rng.randrange(10 ** k):0{k}d}"


def uuid7(ms, seq):
    """Time-ordered like the ids csrd makes (UUIDv7), so both loads fill the index alike."""
    rand = rng.getrandbits(62)
    v = (ms << 80) | (0x7 << 76) | ((seq & 0xFFF) << 64) | (0b10 << 62) | rand
    h = f"{v:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def record(i):
    kind = "organization" if rng.random() < 0.2 else "person"
    origin = rng.choices(["CN", "KR", "OTHER"], [45, 15, 40])[0]
    if origin == "CN":
        country = "CN"
        if kind == "person":
            (s, sl), (g, gl) = rng.choice(CN_SURNAMES), rng.choice(CN_GIVEN)
            name, local = s + g, f"{sl}.{gl}{i}"
        else:
            name, local = rng.choice(["上海", "北京", "深圳", "杭州"]) + rng.choice(CN_ORGS) + "有限公司", f"service{i}"
        phone = f"+86 1{rng.choice('3456789')}{digits(1)}-{digits(4)}-{digits(4)}"
        domain = rng.choice(["example.cn", "mail.example.com.cn", "qq.example.com"])
    elif origin == "KR":
        country = "KR"
        if kind == "person":
            (s, sl), (g, gl) = rng.choice(KR_SURNAMES), rng.choice(KR_GIVEN)
            name, local = s + g, f"{sl}.{gl}{i}"
        else:
            name, local = rng.choice(["한빛", "미래", "대한"]) + " 주식회사", f"contact{i}"
        phone = f"+82 10-{digits(4)}-{digits(4)}"
        domain = "example.kr"
    else:
        country = rng.choice(["US", "DE", "GB"])
        if kind == "person":
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
            name, local = f"{first} {last}", f"{first.lower()}.{i}"
        else:
            name, local = f"{rng.choice(EN_ORGS)} Ltd", f"info{i}"
        phone = f"+1 415-555-{digits(4)}" if country == "US" else f"+44 20-{digits(4)}-{digits(4)}"
        domain = "example.com"
    doc = {"kind": kind, "name": name}
    if rng.random() < 0.85:
        doc["email"] = f"{local}@{domain}"
    if rng.random() < 0.9:
        doc["phone"] = phone
    doc["tier"] = rng.choice(TIERS)
    doc["status"] = rng.choice(STATUSES)
    doc["tags"] = rng.sample(TAGS, rng.randint(0, 3))
    doc["address"] = {"city": rng.choice(CITIES[country]), "country": country}
    doc["external_ref"] = f"ERP-{run_id}-{i:07d}"
    return doc


def pg_array(items):
    return "{" + ",".join('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in items) + "}"


os.makedirs(out, exist_ok=True)
ms = int(time.time() * 1000)
with open(f"{out}/customers.ndjson", "w", encoding="utf-8") as nd:
    part = stmt = cf = None
    for i in range(n_total):
        if i % per_part == 0:
            if part:
                part.close()
                cf.close()
                stmt.write("]")
                stmt.close()
            k = i // per_part
            part = open(f"{out}/part-{k:02d}.ndjson", "w", encoding="utf-8")
            cf = open(f"{out}/part-{k:02d}.csv", "w", encoding="utf-8", newline="")
            w = csv.writer(cf)
            w.writerow(["kind", "name", "email", "phone", "tier", "status", "tags", "address",
                        "external_ref", "id"])
            stmt = open(f"{out}/param-{k:02d}.json", "w", encoding="utf-8")
            stmt.write("[")
        doc = record(i)
        uid = uuid7(ms + i // 4096, i)
        line = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        nd.write(line + "\n")
        part.write(line + "\n")
        stmt.write(("" if i % per_part == 0 else ",") + '{"id":"' + uid + '","j":' + line + "}")
        w.writerow([doc["kind"], doc["name"], doc.get("email", ""), doc.get("phone", ""),
                    doc["tier"], doc["status"], pg_array(doc["tags"]),
                    json.dumps(doc["address"], ensure_ascii=False), doc["external_ref"], uid])
    part.close()
    cf.close()
    stmt.write("]")
    stmt.close()
