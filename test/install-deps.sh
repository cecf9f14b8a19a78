#!/bin/bash
#
# install-deps.sh -- install the Debian packages partkv needs to build and
# test, if any is missing.  Does nothing (and prints nothing) when all are
# installed; otherwise runs apt-get update + install, non-interactively, as
# root (directly, or through sudo when available).
#
# Extra packages can be added with PARTKV_EXTRA_PACKAGES="pkg1 pkg2".

set -euo pipefail

# shellcheck source=test/scripts/common.sh
. "$(dirname "$0")/scripts/common.sh"

packages=(
	"postgresql-$PG_MAJOR"
	"postgresql-server-dev-$PG_MAJOR" # PGXS, pg_regress, isolation tester, TAP modules
	libxxhash-dev
	libipc-run-perl # TAP tests
	perl            # prove, Test::More
	make
	gcc             # with it (libgcc-12-dev) the ASan and UBSan runtimes of `make SANITIZE=1`
	libc6-dev
	clang           # libFuzzer build of the expression parser (make fuzz-check)
	libclang-rt-14-dev
	libmicrohttpd-dev # partkv-server: HTTP
	libjansson-dev    # partkv-server: JSON validation
	libssl-dev        # partkv-server: SigV4 (SHA-256, HMAC)
	zlib1g-dev        # partkv-server: x-amz-crc32
	libpq-dev         # partkv-server: the database
	awscli            # partkv-server's tests: a real client
	python3-boto3     # partkv-server's tests: a real SDK
	wrk               # make bench: the endpoint's load generator
)
# shellcheck disable=SC2206 # word splitting intended
packages+=(${PARTKV_EXTRA_PACKAGES:-})

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0

note "installing missing packages: ${missing[*]}"
command -v apt-get >/dev/null 2>&1 ||
	die "apt-get not found: install these packages by hand: ${missing[*]}"

set_root_prefix "installing packages (${missing[*]})"
log=$(mktemp /tmp/partkv-apt.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive
quietly "$log" "${ROOT_PREFIX[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
	die "apt-get update failed (log: $log)"
quietly "$log" "${ROOT_PREFIX[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends -o Dpkg::Options::=--force-confdef \
	-o Dpkg::Options::=--force-confold "${missing[@]}" ||
	die "apt-get install failed (log: $log)"
rm -f "$log"
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG is missing after installing packages"
note "packages installed"
