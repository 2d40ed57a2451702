#!/usr/bin/env bash
# The seed's curl sequence, verbatim, on a fresh platform: ids start at 1, so the seed's
# `user_id: 1` and wallets 1 and 2 mean what they say. infra/test runs it right after the
# platform starts, before any other test; it also works by hand right after `infra/up`.
# The seed has no way to fund a wallet, so one deposit is added before Test 2.
set -euo pipefail

AUTH=http://localhost:8001 WALLET=http://localhost:8002 PAYMENT=http://localhost:8003 KYC=http://localhost:8005
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
expect() { # expect NAME ACTUAL WANTED
  if [[ "$2" != "$3" ]]; then echo "seed walkthrough: $1: got '$2', want '$3'" >&2; exit 1; fi
  echo "ok  $1: $2"
}
until_status() { # until_status WANTED CURL-ARGS...: the cascade is asynchronous; bounded polling
  local wanted=$1 status; shift
  for _ in $(seq 1 100); do
    status=$(curl -s -o /tmp/seed-body.json -w '%{http_code}' "$@")
    [[ "$status" == "$wanted" ]] && return 0
    sleep 0.1
  done
  echo "seed walkthrough: still $status after 10 s: $(cat /tmp/seed-body.json)" >&2; exit 1
}

# Steps 1-2: register, then log in OAuth2-style with form fields.
user=$(curl -s -X POST $AUTH/api/auth/register -H "Content-Type: application/json" \
  -d '{"email": "test@example.com", "password": "password123", "name": "Test User"}')
expect "register → user id" "$(json "['id']" <<<"$user")" 1
TOKEN=$(curl -s -X POST $AUTH/api/auth/login -F "username=test@example.com" -F "password=password123" | json "['access_token']")

# Test 1: KYC status field (Auth → Wallet → Payment).
refused=$(curl -s -X POST $WALLET/api/wallet/create -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" -d '{"currency":"USD"}')
expect "wallet before KYC" "$(json "['detail']" <<<"$refused")" "KYC verification required. Current status: pending"
kyc=$(curl -s -X POST $KYC/api/kyc/submit -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  -d '{"user_id": 1, "document_type": "passport", "document_url": "https://example.com/passport.jpg"}')
expect "KYC decision" "$(json "['status']" <<<"$kyc")" verified
until_status 201 -X POST $WALLET/api/wallet/create -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" -d '{"currency":"USD"}'
expect "wallet after KYC, same token → wallet id" "$(json "['id']" </tmp/seed-body.json)" 1

# A second customer owns wallet 2.
curl -s -o /dev/null -X POST $AUTH/api/auth/register -H "Content-Type: application/json" \
  -d '{"email": "friend@example.com", "password": "password123", "name": "Friend"}'
FRIEND=$(curl -s -X POST $AUTH/api/auth/login -F "username=friend@example.com" -F "password=password123" | json "['access_token']")
curl -s -o /dev/null -X POST $KYC/api/kyc/submit -H "Authorization: Bearer $FRIEND" -H "Content-Type: application/json" \
  -d '{"user_id": 2, "document_type": "passport", "document_url": "https://example.com/passport.jpg"}'
until_status 201 -X POST $WALLET/api/wallet/create -H "Authorization: Bearer $FRIEND" \
  -H "Content-Type: application/json" -d '{"currency":"USD"}'
expect "friend's wallet id" "$(json "['id']" </tmp/seed-body.json)" 2

deposit=$(curl -s -X POST $WALLET/api/wallet/1/deposit -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: seed-topup-1" \
  -H "Content-Type: application/json" -d '{"amount": 500.00, "reference": "seed top-up"}')
expect "deposit" "$(json "['wallet']['balance']" <<<"$deposit")" 500.0000

# Test 2: wallet status change (Wallet → Payment).
sent=$(curl -s -X POST $PAYMENT/api/payment/transfer -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  -d '{"from_wallet_id": 1, "to_wallet_id": 2, "amount": 100.00, "currency": "USD"}')
expect "transfer 100.00" "$(json "['status']" <<<"$sent")" COMPLETED
frozen=$(curl -s -X PUT $WALLET/api/wallet/1/status -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d '"frozen"')
expect "freeze wallet 1" "$(json "['status']" <<<"$frozen")" frozen
blocked=$(curl -s -X POST $PAYMENT/api/payment/transfer -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  -d '{"from_wallet_id": 1, "to_wallet_id": 2, "amount": 50.00, "currency": "USD"}')
expect "transfer from a frozen wallet" "$(json "['detail']" <<<"$blocked")" "Source wallet is frozen"
balance=$(curl -s $WALLET/api/wallet/1/balance -H "Authorization: Bearer $TOKEN")
expect "balance precision" "$(json "['balance']" <<<"$balance") / $(json "['precision']" <<<"$balance")" "400.0000 / 4"
echo "seed walkthrough: every step as the seed expects"
