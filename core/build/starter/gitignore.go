package starter

import (
	"bufio"
	"bytes"
	"strings"
)

// Ignored are the paths the starter config has mmbuild write into the work
// tree, as .gitignore patterns: out/ (the attestation, and the artifacts
// published to file://${PWD}/out/published/) and build.env (the dotenv
// file for the next build). Left unignored, a run makes the tree dirty, so
// the next run's source is "dirty" and never a cache hit, and a commit
// would carry them.
var Ignored = []string{"/out/", "/build.env"}

// GitIgnore returns the .gitignore content gitignore (nil when there is
// none) with each pattern of Ignored it lacks appended, and the patterns
// added (none: gitignore is returned unchanged). A pattern counts as there
// when a line names the same path with or without its leading or trailing
// slash.
func GitIgnore(gitignore []byte) ([]byte, []string) {
	have := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(gitignore))
	for sc.Scan() {
		have[bare(sc.Text())] = true
	}
	var added []string
	for _, p := range Ignored {
		if !have[bare(p)] {
			added = append(added, p)
		}
	}
	if len(added) == 0 {
		return gitignore, nil
	}
	out := bytes.Clone(gitignore)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	out = append(out, "# written by mmbuild run (mmbuild init added these)\n"...)
	for _, p := range added {
		out = append(out, p+"\n"...)
	}
	return out, added
}

// bare is a .gitignore line's path without surrounding space and slashes.
func bare(line string) string {
	return strings.Trim(strings.TrimSpace(line), "/")
}
