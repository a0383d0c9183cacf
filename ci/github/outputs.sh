# mmbuild_output NAME VALUE appends one step output to $GITHUB_OUTPUT (when
# set) in the form that holds any value, line breaks included:
#
#   NAME<<DELIMITER
#   VALUE
#   DELIMITER
#
# with a random delimiter that is not in the value. POSIX sh; sourced by
# run.sh.
mmbuild_output() {
	[ -n "${GITHUB_OUTPUT:-}" ] || return 0
	while :; do
		mmbuild_delimiter="mmbuild_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
		case "$2" in *"$mmbuild_delimiter"*) ;; *) break ;; esac
	done
	printf '%s<<%s\n%s\n%s\n' "$1" "$mmbuild_delimiter" "$2" "$mmbuild_delimiter" >>"$GITHUB_OUTPUT"
}
