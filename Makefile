# xgate — the two commands a newcomer needs are `make run` and `make test`.
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
XGATE := .build/debug/xgate

.PHONY: run smoke smoke-ha walkthrough test deps build build-tests bench bench-engine bench-e2e registry clean

## run: a local federation of six daemons over mutual TLS (the city, 松江, 浦东新区, 徐汇, 嘉兴, 苏州), seeded, with a
## repair at the city reaching both partners; prints the addresses and the operator token; Ctrl-C stops it.
## RUN_FLAGS="--fresh" starts from nothing (data in out/federation)
run: build
	python3 deploy/federation.py run --xgate $(XGATE) $(RUN_FLAGS)

## smoke: the same federation and demo, without waiting: exits 0 once the repair reached both partners
smoke: build
	python3 deploy/federation.py smoke --xgate $(XGATE) --fresh --data out/smoke

## smoke-ha: the city as 2 instances on PostgreSQL behind HAProxy, one killed with kill -9 at random instants (5 times)
## while 3 districts push SMOKE_HA_RECORDS records (default 3000) and the city repairs; then pg_dump and restore. Last line:
## `smoke-ha: 2 city instances on PostgreSQL, N records, K kill -9, 0 lost, 0 applied twice, takeover max T s`
SMOKE_HA_RECORDS ?= 3000
smoke-ha: build
	python3 deploy/postgres/pgcluster.py run .build/pg-ha -- python3 Tests/e2e/test_ha.py --xgate $(XGATE) --records $(SMOKE_HA_RECORDS) --kills 5

## walkthrough: offline, no network: keys, validation, a signed batch, verification, a signed receipt
walkthrough: build
	XGATE=$(XGATE) deploy/walkthrough.sh

## test: every proof — Swift tests (incl. the official JSON Schema suite, and the store conformance suite on SQLite and
## on a PostgreSQL 15 cluster of our own started for them), Python cross-checks and interoperability,
## the OpenAPI document (openapi-spec-validator), three real daemons over mutual TLS whose every answer is checked against it (Tests/e2e),
## a flood of idle and slow connections, body limits and peak memory, file modes, pins on both ends, secrets kept out of
## logs (test_hardening.py), two city instances on one store sharing work by leases, kill -9 of one, on SQLite and on PostgreSQL (test_instances.py),
## the city as 2 instances on PostgreSQL behind HAProxy with 5 kill -9 and a pg_dump restore (make smoke-ha, test_ha.py), schemathesis over openapi.yaml against a real daemon (test_schemathesis.py),
## the local federation (make smoke) and the web console in headless Chromium (Tests/console)
test: build-tests
	python3 deploy/postgres/pgcluster.py run .build/pg-test -- python3 deploy/watchdog.py --minutes 15 -- $(SWIFT) test --skip-build
	python3 -m openapi_spec_validator Contracts/openapi.yaml
	python3 Tests/interop/check_examples.py --xgate $(XGATE)
	python3 Tests/interop/test_interop.py --xgate $(XGATE)
	python3 Tests/e2e/test_daemons.py --xgate $(XGATE)
	python3 Tests/e2e/test_instances.py --xgate $(XGATE)
	python3 deploy/postgres/pgcluster.py run .build/pg-instances -- python3 Tests/e2e/test_instances.py --xgate $(XGATE) --postgres
	python3 deploy/postgres/pgcluster.py run .build/pg-ha -- python3 Tests/e2e/test_ha.py --xgate $(XGATE) --records $(SMOKE_HA_RECORDS) --kills 5
	python3 Tests/e2e/test_hardening.py --xgate $(XGATE)
	python3 Tests/e2e/test_schemathesis.py --xgate $(XGATE)
	python3 deploy/federation.py smoke --xgate $(XGATE) --fresh --data .build/smoke > .build/smoke.log 2>&1 \
		|| { cat .build/smoke.log; echo "make test: the local federation (make smoke) failed"; exit 1; }
	tail -1 .build/smoke.log
	python3 Tests/console/test_console.py --xgate $(XGATE) --data .build/smoke
	XGATE=$(XGATE) OUT=.build/walkthrough-check deploy/walkthrough.sh > .build/walkthrough.log 2>&1 \
		|| { cat .build/walkthrough.log; echo "make test: the walkthrough (make walkthrough) failed"; exit 1; }
	swift format lint -r Sources Tests
	@echo "make test: all checks passed"

deps:
	@deploy/install-deps.sh

build: deps
	$(SWIFT) build

build-tests: deps
	$(SWIFT) build --build-tests

## bench: schema validation + merge throughput, batch sign/verify times (release build)
bench: deps
	$(SWIFT) build -c release --product xgate-bench
	.build/release/xgate-bench

## bench-engine: 1,000,000 records streamed through the engine (peak memory), then signed batches applied into SQLite
## vs the sqlite3 CLI's ceiling, with a profile (release build; ~15 min; BENCH_ENGINE_FLAGS="--no-million" skips the first)
bench-engine: deps
	$(SWIFT) build -c release --product xgate-bench-engine
	.build/release/xgate-bench-engine $(BENCH_ENGINE_FLAGS)

## bench-e2e: 11 daemons over HTTPS with mutual TLS: district → city ingest vs the engine in process, correction latency
## from a district through the city to 9 partners (p50/p99), peak memory of the city (release build; ~5 min;
## BENCH_E2E_FLAGS="--records 50000 --corrections 200" for more)
bench-e2e: deps
	$(SWIFT) build -c release --product xgate
	$(SWIFT) build -c release --product xgate-bench-engine
	python3 deploy/postgres/pgcluster.py run .build/pg-bench -- python3 Tests/e2e/bench_e2e.py --xgate .build/release/xgate \
		--bench-engine .build/release/xgate-bench-engine $(BENCH_E2E_FLAGS)

## registry: regenerate the sample federation's development keys and agreements in Peers/
registry: build
	python3 deploy/make-sample-registry.py --xgate $(XGATE) --out Peers

clean:
	rm -rf out
