# shellcheck shell=bash disable=SC2034  # sets variables for the sourcing script
# bench/args.sh - the preamble of the bench scripts whose only flags are --out and -h
# (sourced first, with arguments: DEFAULT_MD BAD_ARG_STATUS "$@"). The sourcing script
# sets HERE; this sets ROOT, puts Go on PATH, and sets OUT_MD from --out (default
# $HERE/DEFAULT_MD). -h prints the script's header comment; an unknown argument exits
# with BAD_ARG_STATUS.

ROOT=$(cd "$HERE/.." && pwd)
export PATH=$PATH:/usr/local/go/bin
# Throwaway volumes: what a mount remembers about them (IVs, long names)
# must not land in /var/lib/veilfs.
export VEILFS_STATE_DIR=${VEILFS_STATE_DIR:-$(mktemp -d /tmp/veilfs-bench-state.XXXXXX)}

OUT_MD=$HERE/$1
bad_arg_status=$2
shift 2
while [[ $# -gt 0 ]]; do
	case $1 in
	--out) OUT_MD=$(realpath -m "$2"); shift 2 ;;
	-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "${0##*/}: unknown argument $1 (see --help)" >&2; exit "$bad_arg_status" ;;
	esac
done
