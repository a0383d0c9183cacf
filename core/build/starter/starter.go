package starter

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Makefiles are the names make reads, in its order.
var Makefiles = []string{"GNUmakefile", "makefile", "Makefile"}

// A rule line: targets, a colon that is not part of an assignment (:=, ::=),
// then prerequisites.
var ruleLine = regexp.MustCompile(`^([^\s:=#][^:=#]*?)\s*::?(?:[^:=]|$)`)

var defaultGoal = regexp.MustCompile(`^\.DEFAULT_GOAL\s*[:?]?=\s*(\S+)`)

// Targets returns the explicit targets of a Makefile in the order they are
// defined, and its default goal (.DEFAULT_GOAL, else the first target, as
// make picks it; "" when there is none). Special targets (.PHONY, ...),
// pattern rules, recipe lines and targets named through variables are left
// out: this reads a Makefile as a person skims it, it does not run make.
func Targets(makefile []byte) (targets []string, goal string) {
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(makefile))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "\t") {
			continue
		}
		if m := defaultGoal.FindStringSubmatch(line); m != nil {
			goal = m[1]
			continue
		}
		m := ruleLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, t := range strings.Fields(m[1]) {
			if strings.HasPrefix(t, ".") || strings.ContainsAny(t, "%$()") || seen[t] {
				continue
			}
			seen[t] = true
			targets = append(targets, t)
		}
	}
	if goal == "" && len(targets) > 0 {
		goal = targets[0]
	}
	return targets, goal
}

// Config returns a commented mmbuild.yaml that runs make with target (none
// when target is ""), naming the Makefile's other targets in a comment.
func Config(makefile, target string, targets []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# mmbuild.yaml: the build of %s, written by mmbuild init.\n", makefile)
	b.WriteString("# Check it with `mmbuild validate`; every key is explained in mmbuild's README.\n\n")
	b.WriteString("handler:\n" + comment("  id: make", "runs make through the make plugin"))
	if target != "" {
		b.WriteString(comment(fmt.Sprintf("  params: [%q]", target), "the make target(s) to run"))
	} else {
		b.WriteString(comment("  params: []", "the make target(s) to run (none: make's default goal)"))
	}
	if len(targets) > 0 {
		fmt.Fprintf(&b, "  # targets in %s: %s\n", makefile, strings.Join(targets, ", "))
	}
	b.WriteString(`
# The builder sees only a small base environment (PATH, HOME, ...) and what
# is declared here.
# env:
#   - var: GOFLAGS
#     value: -trimpath                   # hard-coded
#   - var: CI_COMMIT_SHA                 # no value: taken from the running environment

# Inputs fetched (and their digests checked) before the build, into
# $MMBUILD_MATERIALS_DIR.
# materials:
#   - uri: https://example.com/dl/dep-1.2.tar.gz
#     digest: {sha256: 9b1c...}

artifacts:
  # Where the artifacts and the attestation are published, under the build's
  # staging key: file://, s3://bucket/prefix/, https://...
  destination: file://${PWD}/out/published/
  # The files the build makes (globs, ** allowed, relative to this folder):
  # change this to your build's outputs.
  files: ["dist/*"]

# The local copy of the attestation (in-toto statement, SLSA provenance).
provenance: out/

# Sign the attestation with a key from your CI's secret store
# (mmbuild keys generate makes a pair; commit only the .pub).
# secrets:
#   - name: SIGNING_KEY
#     from: file://${MMBUILD_SIGNING_KEY_FILE}
# signing:
#   keySecret: SIGNING_KEY
`)
	return b.Bytes()
}

// comment returns line with a comment, aligned with the others, and a
// line break.
func comment(line, text string) string {
	return fmt.Sprintf("%-32s # %s\n", line, text)
}
