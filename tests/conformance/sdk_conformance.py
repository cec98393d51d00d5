#!/usr/bin/env python3
"""Conformance of `renewctl emulator` with the official Alibaba Cloud Python SDKs.

Starts the emulator on a free loopback port with tests/conformance/fleet.yaml, then drives it
with the current Tea SDK (alibabacloud_ecs20140526) in its default ACS3-HMAC-SHA256 mode and in
signature_algorithm="v2" (HMAC-SHA1) mode, and with the legacy aliyunsdkcore AcsClient and the
aliyunsdkecs request classes. Every action is exercised and its typed answer checked for missing
fields (a wrong JSON key shows up as None), along with paging, tag filters with awkward
characters, error parsing, a bad signature, and ClientToken idempotency.

Usage (in a venv with tests/conformance/requirements.txt installed):

    python tests/conformance/sdk_conformance.py --renewctl target/debug/renewctl

Prints one line per check and exits non-zero if any check fails.
"""

import argparse
import calendar
import datetime
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# The currency of each site's prices (ecs-api.md §3.5).
CURRENCY = {"china": "CNY", "international": "USD"}

# The key pair of fleet.yaml.
ACCESS_KEY_ID = "LTAIconformance"
ACCESS_KEY_SECRET = "conformance-secret"
REGION = "cn-hangzhou"
SPECIAL_TAG = ("env name*~/+中", "prod a*b~c/d+e 生产")
PAGED_REGION = "cn-shanghai"
PAGED_COUNT = 25
POSTPAID = "i-bp1conf0000000payg1"
WEB = "i-bp1conf00000000web1"
TAGGED = "i-bp1conf000000tagged"

RESULTS = []


def check(name):
    """Runs the decorated function as one named check and prints its outcome."""

    def run(fn):
        try:
            detail = fn()
            RESULTS.append((name, True))
            print(f"ok    {name}" + (f"  ({detail})" if detail else ""), flush=True)
        except Exception as err:  # noqa: BLE001 - every failure is reported, none stops the run
            RESULTS.append((name, False))
            print(f"FAIL  {name}: {type(err).__name__}: {err}", flush=True)
        return fn

    return run


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def not_none(obj, *paths):
    """Asserts each dotted path (with [i] indices) of a typed model is set."""
    for path in paths:
        value = obj
        for part in path.split("."):
            index = None
            if part.endswith("]"):
                part, index = part[:-1].split("[")
            value = getattr(value, part)
            if index is not None:
                value = value[int(index)]
            if value is None:
                raise AssertionError(f"{path}: {part} is None (wrong JSON key or nesting?)")


def add_month_beijing(expired):
    """ExpiredTime + 1 calendar month counted in UTC+8, clamped at month end."""
    utc = datetime.datetime.strptime(expired, "%Y-%m-%dT%H:%MZ")
    local = utc + datetime.timedelta(hours=8)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    moved = local.replace(year=year, month=month, day=day) - datetime.timedelta(hours=8)
    return moved.strftime("%Y-%m-%dT%H:%MZ")


def error_code(err):
    """The API error code an SDK exception carries (Tea: .code; legacy: get_error_code())."""
    if hasattr(err, "get_error_code"):
        return err.get_error_code()
    return getattr(err, "code", None)


def expect_error(call, code):
    try:
        call()
    except Exception as err:  # noqa: BLE001
        got = error_code(err)
        expect(got == code, f"expected {code}, got {got!r} ({err})")
        return f"{code}"
    raise AssertionError(f"expected {code}, but the call succeeded")


# ---- the emulator process ------------------------------------------------------------------


def start_emulator(renewctl, fleet):
    proc = subprocess.Popen(
        [renewctl, "emulator", "--fleet", fleet, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        first = lines.get(timeout=20)
    except queue.Empty:
        proc.kill()
        raise SystemExit("the emulator printed nothing within 20 s")
    prefix = "renewctl emulator listening on "
    if not first.startswith(prefix):
        proc.kill()
        raise SystemExit(f"unexpected first line {first!r}; stderr: {proc.stderr.read()}")
    # Drain the rest of stdout so the emulator never blocks on a full pipe.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc, first[len(prefix):].strip()


def stop_emulator(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stats(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/_emulator/stats", timeout=5) as answer:
        return json.load(answer)


# ---- the Tea SDK (alibabacloud_ecs20140526) --------------------------------------------------


def tea_checks(url, mode, site):
    from alibabacloud_ecs20140526 import models as ecs
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    host = url.split("://", 1)[1]

    def client(secret=ACCESS_KEY_SECRET):
        config = Config(
            access_key_id=ACCESS_KEY_ID,
            access_key_secret=secret,
            endpoint=host,
            protocol="http",
            region_id=REGION,
        )
        if mode == "v2":
            config.signature_algorithm = "v2"
        return Client(config)

    ecs_client = client()
    label = f"tea/{mode}"
    modify_id = f"i-bp1conf-modify-{mode}"
    renew_id = f"i-bp1conf-renew-{mode}"
    token_id = f"i-bp1conf-token-{mode}"

    def describe(**kwargs):
        return ecs_client.describe_instances(ecs.DescribeInstancesRequest(**kwargs)).body

    def expired_time(instance_id):
        body = describe(region_id=REGION, instance_ids=json.dumps([instance_id]))
        expect(body.total_count == 1, f"{instance_id} not found")
        return body.instances.instance[0].expired_time

    @check(f"{label} DescribeRegions")
    def _():
        body = ecs_client.describe_regions(ecs.DescribeRegionsRequest(accept_language="en-US")).body
        not_none(body, "request_id", "regions.region[0].region_id", "regions.region[0].local_name",
                 "regions.region[0].region_endpoint", "regions.region[0].status")
        ids = sorted(r.region_id for r in body.regions.region)
        expect(ids == ["cn-beijing", "cn-hangzhou", "cn-shanghai"], ids)
        return ", ".join(ids)

    @check(f"{label} DescribeInstances typed fields")
    def _():
        body = describe(region_id=REGION, instance_ids=json.dumps([WEB]))
        not_none(body, "request_id", "total_count", "page_number", "page_size",
                 "instances.instance[0].instance_id", "instances.instance[0].instance_name",
                 "instances.instance[0].region_id", "instances.instance[0].zone_id",
                 "instances.instance[0].instance_charge_type", "instances.instance[0].status",
                 "instances.instance[0].expired_time", "instances.instance[0].creation_time",
                 "instances.instance[0].instance_type", "instances.instance[0].cpu",
                 "instances.instance[0].memory", "instances.instance[0].tags.tag[0].tag_key",
                 "instances.instance[0].tags.tag[0].tag_value",
                 "instances.instance[0].operation_locks.lock_reason",
                 "instances.instance[0].vpc_attributes.private_ip_address.ip_address",
                 "instances.instance[0].network_interfaces.network_interface[0].mac_address")
        i = body.instances.instance[0]
        expect(i.instance_charge_type == "PrePaid" and i.status == "Running", (i.instance_charge_type, i.status))
        expect(len(i.expired_time) == 17 and i.expired_time.endswith("Z"), i.expired_time)
        expect(isinstance(i.cpu, int) and i.cpu == 4, i.cpu)
        expect({(t.tag_key, t.tag_value) for t in i.tags.tag} == {("env", "prod"), ("tier", "web")}, i.tags)
        return f"{i.instance_id} expires {i.expired_time}"

    @check(f"{label} DescribeInstances PageNumber paging")
    def _():
        seen = []
        for number in range(1, 5):
            body = describe(region_id=PAGED_REGION, instance_charge_type="PrePaid", page_size=10, page_number=number)
            expect(body.total_count == PAGED_COUNT, body.total_count)
            expect(body.page_number == number and body.page_size == 10, (body.page_number, body.page_size))
            seen += [i.instance_id for i in body.instances.instance]
        expect(len(seen) == PAGED_COUNT and len(set(seen)) == PAGED_COUNT, f"{len(seen)} seen, {len(set(seen))} unique")
        return f"{PAGED_COUNT} instances over 3 pages"

    @check(f"{label} DescribeInstances NextToken paging")
    def _():
        seen, token, calls = [], None, 0
        while True:
            body = describe(region_id=PAGED_REGION, max_results=10, next_token=token)
            calls += 1
            seen += [i.instance_id for i in body.instances.instance]
            not_none(body, "next_token")
            token = body.next_token
            if not token:
                break
            expect(calls < 10, "NextToken never ends")
        expect(calls == 3 and len(set(seen)) == PAGED_COUNT, f"{calls} calls, {len(set(seen))} unique")
        return f"{calls} calls"

    @check(f"{label} DescribeInstances tag filter with space * ~ / + CJK")
    def _():
        tag = ecs.DescribeInstancesRequestTag(key=SPECIAL_TAG[0], value=SPECIAL_TAG[1])
        body = describe(region_id=REGION, tag=[tag])
        ids = [i.instance_id for i in body.instances.instance]
        expect(ids == [TAGGED], ids)
        miss = describe(region_id=REGION, tag=[ecs.DescribeInstancesRequestTag(key=SPECIAL_TAG[0], value="prod")])
        expect(miss.total_count == 0, miss.total_count)

    @check(f"{label} DescribeInstanceAutoRenewAttribute")
    def _():
        body = ecs_client.describe_instance_auto_renew_attribute(
            ecs.DescribeInstanceAutoRenewAttributeRequest(region_id=REGION, instance_id=f"{WEB},{modify_id}")).body
        not_none(body, "request_id", "total_count", "page_number", "page_size")
        attrs = {a.instance_id: a for a in body.instance_renew_attributes.instance_renew_attribute}
        for a in attrs.values():
            not_none(a, "instance_id", "auto_renew_enabled", "duration", "period_unit", "renewal_status")
        web = attrs[WEB]
        expect((web.renewal_status, web.auto_renew_enabled, web.duration, web.period_unit)
               == ("AutoRenewal", True, 1, "Month"), vars(web))
        expect(attrs[modify_id].period_unit == "month", "units are reported verbatim")

    @check(f"{label} ModifyInstanceAutoRenewAttribute, read back")
    def _():
        body = ecs_client.modify_instance_auto_renew_attribute(ecs.ModifyInstanceAutoRenewAttributeRequest(
            region_id=REGION, instance_id=modify_id, renewal_status="AutoRenewal", duration=12,
            period_unit="Month")).body
        not_none(body, "request_id")
        attr = ecs_client.describe_instance_auto_renew_attribute(ecs.DescribeInstanceAutoRenewAttributeRequest(
            region_id=REGION, instance_id=modify_id)).body.instance_renew_attributes.instance_renew_attribute[0]
        expect((attr.renewal_status, attr.duration, attr.period_unit) == ("AutoRenewal", 12, "Month"), vars(attr))

    @check(f"{label} RenewInstance moves ExpiredTime")
    def _():
        before = expired_time(renew_id)
        body = ecs_client.renew_instance(ecs.RenewInstanceRequest(instance_id=renew_id, period=1, period_unit="Month")).body
        not_none(body, "request_id", "order_id")
        after = expired_time(renew_id)
        expect(after == add_month_beijing(before), f"{before} -> {after}")
        return f"{before} -> {after}, order {body.order_id}"

    @check(f"{label} DescribeRenewalPrice")
    def _():
        body = ecs_client.describe_renewal_price(ecs.DescribeRenewalPriceRequest(
            region_id=REGION, resource_id=renew_id, period=3, price_unit="Month")).body
        not_none(body, "request_id", "price_info.price.original_price", "price_info.price.trade_price",
                 "price_info.price.discount_price", "price_info.price.currency",
                 "price_info.price.detail_infos.detail_info[0].resource", "price_info.rules.rule",
                 "price_info.related_price.marketplace_image_price.currency")
        expect(body.price_info.price.trade_price == 240.0, body.price_info.price.trade_price)
        expect(body.price_info.price.currency == CURRENCY[site], (site, body.price_info.price.currency))
        return f"{body.price_info.price.trade_price} {body.price_info.price.currency}"

    @check(f"{label} RenewInstance error table ({site} site)")
    def _():
        # The current RenewInstance error table (ecs-api.md §3.6 and the sources).
        expect_error(lambda: ecs_client.renew_instance(ecs.RenewInstanceRequest(instance_id=renew_id)),
                     "InvalidPeriod.NotFound")
        expect_error(lambda: ecs_client.renew_instance(ecs.RenewInstanceRequest(
            instance_id=renew_id, period=1, expected_renew_day=3)), "InvalidExpectedRenewDay.Conflict")
        if site == "international":
            expect_error(lambda: ecs_client.renew_instance(ecs.RenewInstanceRequest(
                instance_id=renew_id, period=24, period_unit="Month")), "InvalidPeriod")
            expect_error(lambda: ecs_client.renew_instance(ecs.RenewInstanceRequest(
                instance_id=renew_id, period=1, period_unit="Week")), "InvalidPeriodUnit.ValueNotSupported")
            expect_error(lambda: ecs_client.modify_instance_auto_renew_attribute(
                ecs.ModifyInstanceAutoRenewAttributeRequest(
                    region_id=REGION, instance_id=modify_id, renewal_status="AutoRenewal",
                    duration=1, period_unit="Week")), "InvalidPeriodUnit.ValueNotSupported")
        return f"{site}: refused with the current codes"

    if mode == "acs3":
        @check(f"{label} an empty query value signs")
        def _():
            body = describe(region_id=REGION, instance_name="")
            not_none(body, "request_id")
            return "accepted"

    @check(f"{label} wrong secret -> SignatureDoesNotMatch")
    def _():
        return expect_error(lambda: client("not-the-secret").describe_regions(ecs.DescribeRegionsRequest()),
                            "SignatureDoesNotMatch")

    @check(f"{label} RenewInstance on PostPaid -> ChargeTypeViolation")
    def _():
        return expect_error(lambda: ecs_client.renew_instance(
            ecs.RenewInstanceRequest(instance_id=POSTPAID, period=1)), "ChargeTypeViolation")

    @check(f"{label} RenewInstance on an unknown id -> InvalidInstanceId.NotFound")
    def _():
        return expect_error(lambda: ecs_client.renew_instance(
            ecs.RenewInstanceRequest(instance_id="i-bp1doesnotexist000", period=1)), "InvalidInstanceId.NotFound")

    @check(f"{label} ClientToken replay renews once")
    def _():
        before = expired_time(token_id)
        token = f"conformance-{mode}-0001"
        request = ecs.RenewInstanceRequest(instance_id=token_id, period=1, period_unit="Month", client_token=token)
        first = ecs_client.renew_instance(request).body
        second = ecs_client.renew_instance(request).body
        expect(first.order_id == second.order_id, (first.order_id, second.order_id))
        after = expired_time(token_id)
        expect(after == add_month_beijing(before), f"{before} -> {after}")
        renewals = stats(url)["renewals"].get(token_id)
        expect(renewals == 1, f"stats renewals = {renewals}")
        expect_error(lambda: ecs_client.renew_instance(ecs.RenewInstanceRequest(
            instance_id=token_id, period=2, period_unit="Month", client_token=token)), "IdempotenceParamNotMatch")
        return f"order {first.order_id} twice, renewed once"


# ---- the legacy SDK (aliyunsdkcore + aliyunsdkecs) -------------------------------------------


def legacy_checks(url):
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkecs.request.v20140526 import (
        DescribeInstanceAutoRenewAttributeRequest,
        DescribeInstancesRequest,
        DescribeRegionsRequest,
        DescribeRenewalPriceRequest,
        ModifyInstanceAutoRenewAttributeRequest,
        RenewInstanceRequest,
    )

    host = url.split("://", 1)[1]
    acs = AcsClient(ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION)
    label = "legacy"
    modify_id, renew_id, token_id = "i-bp1conf-modify-legacy", "i-bp1conf-renew-legacy", "i-bp1conf-token-legacy"

    def call(request, client=acs):
        request.set_endpoint(host)
        request.set_protocol_type("http")
        return json.loads(client.do_action_with_exception(request))

    def describe(client=acs, **setters):
        request = DescribeInstancesRequest.DescribeInstancesRequest()
        for name, value in setters.items():
            getattr(request, f"set_{name}")(value)
        return call(request, client)

    def expired_time(instance_id):
        body = describe(InstanceIds=json.dumps([instance_id]))
        return body["Instances"]["Instance"][0]["ExpiredTime"]

    @check(f"{label} DescribeRegions")
    def _():
        body = call(DescribeRegionsRequest.DescribeRegionsRequest())
        ids = sorted(r["RegionId"] for r in body["Regions"]["Region"])
        expect(ids == ["cn-beijing", "cn-hangzhou", "cn-shanghai"], ids)

    @check(f"{label} DescribeInstances paging and tag filter")
    def _():
        # The legacy SDK takes the region from the client and adds RegionId to every request.
        shanghai = AcsClient(ACCESS_KEY_ID, ACCESS_KEY_SECRET, PAGED_REGION)
        seen = []
        for number in (1, 2, 3):
            body = describe(shanghai, PageSize=10, PageNumber=number)
            seen += [i["InstanceId"] for i in body["Instances"]["Instance"]]
        expect(len(set(seen)) == PAGED_COUNT, len(set(seen)))
        body = describe(Tags=[{"Key": SPECIAL_TAG[0], "Value": SPECIAL_TAG[1]}])
        ids = [i["InstanceId"] for i in body["Instances"]["Instance"]]
        expect(ids == [TAGGED], ids)

    @check(f"{label} Describe/ModifyInstanceAutoRenewAttribute")
    def _():
        request = ModifyInstanceAutoRenewAttributeRequest.ModifyInstanceAutoRenewAttributeRequest()
        request.set_InstanceId(modify_id)
        request.set_AutoRenew(True)
        request.set_Duration(1)
        request.set_PeriodUnit("Year")
        call(request)
        request = DescribeInstanceAutoRenewAttributeRequest.DescribeInstanceAutoRenewAttributeRequest()
        request.set_InstanceId(modify_id)
        attr = call(request)["InstanceRenewAttributes"]["InstanceRenewAttribute"][0]
        expect((attr["RenewalStatus"], attr["AutoRenewEnabled"], attr["Duration"], attr["PeriodUnit"])
               == ("AutoRenewal", True, 1, "Year"), attr)

    @check(f"{label} RenewInstance and DescribeRenewalPrice")
    def _():
        before = expired_time(renew_id)
        request = RenewInstanceRequest.RenewInstanceRequest()
        request.set_InstanceId(renew_id)
        request.set_Period(1)
        body = call(request)
        expect(isinstance(body.get("OrderId"), str), body)
        after = expired_time(renew_id)
        expect(after == add_month_beijing(before), f"{before} -> {after}")
        request = DescribeRenewalPriceRequest.DescribeRenewalPriceRequest()
        request.set_ResourceId(renew_id)
        price = call(request)["PriceInfo"]["Price"]
        expect(price["TradePrice"] == 80.0, price)

    @check(f"{label} wrong secret -> InvalidAccessKeySecret (SDK reading SignatureDoesNotMatch)")
    def _():
        # The legacy SDK compares the gateway's string-to-sign, quoted after the colon of the
        # SignatureDoesNotMatch message, with its own: equal means the secret is wrong.
        bad = AcsClient(ACCESS_KEY_ID, "not-the-secret", REGION)
        return expect_error(lambda: call(DescribeRegionsRequest.DescribeRegionsRequest(), bad),
                            "InvalidAccessKeySecret")

    @check(f"{label} error codes")
    def _():
        request = RenewInstanceRequest.RenewInstanceRequest()
        request.set_InstanceId(POSTPAID)
        request.set_Period(1)
        expect_error(lambda: call(request), "ChargeTypeViolation")
        request = RenewInstanceRequest.RenewInstanceRequest()
        request.set_InstanceId("i-bp1doesnotexist000")
        request.set_Period(1)
        return expect_error(lambda: call(request), "InvalidInstanceId.NotFound")

    @check(f"{label} ClientToken replay renews once")
    def _():
        before = expired_time(token_id)
        orders = []
        for _ in range(2):
            request = RenewInstanceRequest.RenewInstanceRequest()
            request.set_InstanceId(token_id)
            request.set_Period(1)
            request.set_ClientToken("conformance-legacy-0001")
            orders.append(call(request)["OrderId"])
        expect(orders[0] == orders[1], orders)
        expect(expired_time(token_id) == add_month_beijing(before), "renewed more than once")
        expect(stats(url)["renewals"].get(token_id) == 1, stats(url)["renewals"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renewctl", required=True, help="path to the renewctl binary")
    parser.add_argument("--fleet", default=os.path.join(HERE, "fleet.yaml"))
    parser.add_argument("--site", choices=sorted(CURRENCY), default="china",
                        help="the emulated account's site (written into a copy of the fleet)")
    args = parser.parse_args()
    fleet = args.fleet
    if args.site != "china":
        handle, fleet = tempfile.mkstemp(suffix=".yaml")
        with os.fdopen(handle, "w", encoding="utf-8") as out, open(args.fleet, encoding="utf-8") as src:
            out.write(f"site: {args.site}\n" + src.read())

    # Loopback must never go through a proxy.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

    proc, url = start_emulator(args.renewctl, fleet)
    print(f"emulator at {url} ({args.site} site)", flush=True)
    try:
        tea_checks(url, "acs3", args.site)
        tea_checks(url, "v2", args.site)
        legacy_checks(url)

        @check("emulator stats: no stray renewals, rejections counted")
        def _():
            s = stats(url)
            expected = {f"i-bp1conf-{kind}-{mode}": 1 for kind in ("renew", "token") for mode in ("acs3", "v2", "legacy")}
            expect(s["renewals"] == expected, s["renewals"])
            expect(s["signature_rejections"] == 3, s["signature_rejections"])
            return f"{s['requests']} requests, {s['mutating_requests']} mutating"
    finally:
        stop_emulator(proc)

    failed = [name for name, passed in RESULTS if not passed]
    print(f"{len(RESULTS) - len(failed)}/{len(RESULTS)} checks passed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
