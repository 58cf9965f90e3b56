# Thin aliases for the go commands; read them, run them by hand if you like.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test lint bench bench-scale build fuzz transcripts soak

## run: the bot on the embedded store (./data), simulator at http://localhost:8080/
run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/darsi serve

## test: every test; first makes sure Redis answers and Chromium is installed (.ci/services)
test:
	bash .ci/services
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run '^TestLoginTiming$$' ./bot/coachweb  # timings, which the race detector skews

## transcripts: rewrite lessons/transcripts (every lesson played in every language); read the diff
transcripts:
	$(GO) test ./lessons -update

## lint: go vet, gofmt and the lesson checks
lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l .; echo "gofmt would change the files above"; exit 1)
	$(GO) run ./cmd/darsi lint lessons

## bench: the benchmarks, then the webhook under load (darsi on Redis against a bare handler)
bench:
	bash .ci/services
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./cmd/darsi-load

## bench-scale: darsi as the store grows to 10,000, 100,000 and 1,000,000 learners in Redis (docs/scale.md)
SCALE ?= 10000,100000,1000000
bench-scale:
	bash .ci/services
	$(GO) run ./cmd/darsi-load -scale $(SCALE)

## soak: darsi under faults (Redis and a replica killed, connections dropped, latency) for SOAK_DURATION with SOAK_LEARNERS learners; exit 1 if anything was lost or sent twice (docs/soak.md)
SOAK_DURATION ?= 5m
SOAK_LEARNERS ?= 2000
soak:
	$(GO) run ./cmd/darsi-soak -duration $(SOAK_DURATION) -learners $(SOAK_LEARNERS)

## build: the darsi binary in ./bin
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/darsi ./cmd/darsi

## fuzz: each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzCheckAddress$$' -fuzztime $(FUZZTIME) ./bot
	$(GO) test -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime $(FUZZTIME) ./bot/locale
	$(GO) test -run '^$$' -fuzz '^FuzzParseNumber$$' -fuzztime $(FUZZTIME) ./bot/locale
	$(GO) test -run '^$$' -fuzz '^FuzzDirectional$$' -fuzztime $(FUZZTIME) ./bot/locale
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./bot/lesson
	$(GO) test -run '^$$' -fuzz '^FuzzStamp$$' -fuzztime $(FUZZTIME) ./bot/lesson
	$(GO) test -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME) ./bot/lesson
	$(GO) test -run '^$$' -fuzz '^FuzzGlossary$$' -fuzztime $(FUZZTIME) ./bot/lint
	$(GO) test -run '^$$' -fuzz '^FuzzStep$$' -fuzztime $(FUZZTIME) ./bot/dialog
	$(GO) test -run '^$$' -fuzz '^FuzzChoicePayload$$' -fuzztime $(FUZZTIME) ./bot/dialog
	$(GO) test -run '^$$' -fuzz '^FuzzParseInbound$$' -fuzztime $(FUZZTIME) ./bot/twilio
	$(GO) test -run '^$$' -fuzz '^FuzzVerifySignature$$' -fuzztime $(FUZZTIME) ./bot/twilio
	$(GO) test -run '^$$' -fuzz '^FuzzSignatureFastPath$$' -fuzztime $(FUZZTIME) ./bot/twilio
	$(GO) test -run '^$$' -fuzz '^FuzzTwiML$$' -fuzztime $(FUZZTIME) ./bot/twilio
	$(GO) test -run '^$$' -fuzz '^FuzzValidSID$$' -fuzztime $(FUZZTIME) ./bot/twilio
	$(GO) test -run '^$$' -fuzz '^FuzzWebhookSIDs$$' -fuzztime $(FUZZTIME) ./bot/twilio
	$(GO) test -run '^$$' -fuzz '^FuzzCSV$$' -fuzztime $(FUZZTIME) ./bot/coachweb
	$(GO) test -run '^$$' -fuzz '^FuzzSentinelURL$$' -fuzztime $(FUZZTIME) ./bot/store/redisstore
	$(GO) test -run '^$$' -fuzz '^FuzzSplitMsgKey$$' -fuzztime $(FUZZTIME) ./bot/store/boltstore
