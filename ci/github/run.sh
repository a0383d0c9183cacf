# The run step of the mmbuild action (action.yml), a file of its own so that
# it can be tested outside GitHub. POSIX sh, run in the build's folder, with:
#
#   MMBUILD_CONFIG       the build config (default: mmbuild.yaml here)
#   MMBUILD_RUN_ARGS     more flags for mmbuild run
#   MMBUILD_BUILDER_ID   the builder id recorded in the attestation
#   MMBUILD_SIGNING_KEY  the private key the config signs with, if any: written
#                        to a file only this user can read, its path handed to
#                        mmbuild as MMBUILD_SIGNING_KEY_FILE, removed after
#   MMBUILD_KEYLESS      "true": sign keylessly (--keyless) with the job's OIDC
#                        token, which mmbuild requests itself from
#                        ACTIONS_ID_TOKEN_REQUEST_URL (permissions: id-token: write)
#   MMBUILD_VERIFY_KEY   a public key the signed attestation must verify with
#   GITHUB_OUTPUT        build.env's variables and env-file are appended to it
#                        as step outputs (NAME<<DELIMITER blocks)
#   GITHUB_STEP_SUMMARY  the Markdown summary (mmbuild summary) is appended to it
#
# A cancelled job (SIGINT, then SIGTERM from the runner, or SIGHUP) ends
# mmbuild first, then removes the key file: sh runs no EXIT trap when a
# signal kills it, and the signal reaches sh alone.
set -eu

key_file=""
child=""
trap '[ -z "$key_file" ] || rm -f "$key_file"' EXIT
# stop SIGNAL: end the running mmbuild with SIGTERM (a background job of sh
# ignores SIGINT) and wait for it, then exit as SIGNAL would (the EXIT trap
# removes the key).
stop() {
	trap '' INT TERM HUP
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || :
		wait "$child" || :
	fi
	case "$1" in INT) exit 130 ;; HUP) exit 129 ;; *) exit 143 ;; esac
}
trap 'stop INT' INT
trap 'stop TERM' TERM
trap 'stop HUP' HUP

tmp="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
if [ -n "${MMBUILD_SIGNING_KEY:-}" ]; then
	key_file=$(umask 077 && mktemp "$tmp/mmbuild-signing-key.XXXXXX")
	printf '%s\n' "$MMBUILD_SIGNING_KEY" >"$key_file"
	MMBUILD_SIGNING_KEY_FILE=$key_file
	export MMBUILD_SIGNING_KEY_FILE
fi
# The key itself goes no further: plugins get every MMBUILD_* variable.
unset MMBUILD_SIGNING_KEY

env_file="$PWD/build.env"
keyless=""
case "${MMBUILD_KEYLESS:-false}" in
true) keyless=--keyless ;;
false | "") ;;
*) echo "mmbuild action: keyless is \"$MMBUILD_KEYLESS\", want \"true\" or \"false\"" >&2; exit 2 ;;
esac
# mmbuild run appends to $GITHUB_OUTPUT by itself; here the outputs are
# written once, below, in the delimiter form.
# In the background, waited for: a trapped signal interrupts wait (not a
# command in the foreground), so stop can end mmbuild at once.
# shellcheck disable=SC2086 # MMBUILD_RUN_ARGS is a list of flags
GITHUB_OUTPUT="" mmbuild run ${MMBUILD_CONFIG:+--file "$MMBUILD_CONFIG"} --output-env "$env_file" ${MMBUILD_BUILDER_ID:+--builder-id "$MMBUILD_BUILDER_ID"} $keyless ${MMBUILD_RUN_ARGS:-} &
child=$!
wait "$child"
child=""

. "$(dirname "$0")/outputs.sh"
while IFS= read -r line; do
	case "$line" in *=*) mmbuild_output "${line%%=*}" "${line#*=}" ;; esac
done <"$env_file"
mmbuild_output env-file "$env_file"

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	mmbuild summary ${MMBUILD_CONFIG:+--file "$MMBUILD_CONFIG"} --output-env "$env_file" ${MMBUILD_VERIFY_KEY:+--key "$MMBUILD_VERIFY_KEY"} >>"$GITHUB_STEP_SUMMARY"
elif [ -n "${MMBUILD_VERIFY_KEY:-}" ]; then
	mmbuild summary ${MMBUILD_CONFIG:+--file "$MMBUILD_CONFIG"} --output-env "$env_file" --key "$MMBUILD_VERIFY_KEY" >/dev/null
fi
