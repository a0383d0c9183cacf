package source

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/mmbuild/mmbuild/core/build/redact"
)

// Info records where the sources of a build came from.
type Info struct {
	// Repo is the remote URL (origin), or the repository's path when it has
	// no remote. Empty when Dir is not in a git repository.
	Repo string
	// Commit is the full commit id checked out; empty outside git.
	Commit string
	// Dirty is true when the work tree differs from Commit.
	Dirty bool
	// Dir is the root of the work tree.
	Dir string
	// CommitTime is the committer time of Commit, in the committer's time
	// zone; zero outside git. It is what SOURCE_DATE_EPOCH is taken from.
	CommitTime time.Time
}

// URI is the configSource URI: git+<repo>@<commit>, or file://<dir> when
// the sources are not in git.
func (i Info) URI() string {
	if i.Commit == "" {
		return "file://" + filepath.ToSlash(i.Dir)
	}
	return "git+" + i.Repo + "@" + i.Commit
}

// WorkTree describes the git work tree containing dir. A directory outside
// any repository is not an error: it is recorded as unversioned.
func WorkTree(dir string) (Info, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Info{}, err
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return Info{Dir: abs}, nil
	}
	if err != nil {
		return Info{}, fmt.Errorf("opening git repository at %s: %w", abs, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return Info{Dir: abs}, nil // bare repository: nothing checked out to record
	}
	info := Info{Dir: wt.Filesystem.Root(), Repo: wt.Filesystem.Root()}
	if rem, err := repo.Remote("origin"); err == nil && len(rem.Config().URLs) > 0 {
		info.Repo = StripCredentials(rem.Config().URLs[0])
	}
	head, err := repo.Head()
	if err != nil {
		// A repository without commits: unversioned.
		return Info{Dir: abs}, nil
	}
	info.Commit = head.Hash().String()
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		return Info{}, fmt.Errorf("reading commit %s of %s: %w", head.Hash(), info.Dir, err)
	}
	info.CommitTime = c.Committer.When
	// The repository's own exclude file counts, as for git (CI tools mark
	// their files there): without it a clean checkout would look dirty.
	gitDir, excludes := infoExcludes(repo)
	if info.Dirty, err = isDirty(repo, info.Dir, gitDir, c, excludes); err != nil {
		return Info{}, fmt.Errorf("reading git status of %s: %w", info.Dir, err)
	}
	return info, nil
}

// infoExcludes returns the repository's folder and the patterns of its
// info/exclude file (none when it has none, or its storage is not a
// folder).
func infoExcludes(repo *git.Repository) (string, []gitignore.Pattern) {
	st, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return "", nil
	}
	gitDir := st.Filesystem().Root()
	return gitDir, readIgnore(filepath.Join(gitDir, "info", "exclude"), nil)
}

// StripCredentials removes a user and password from a URL: credentials never
// reach an attestation or a log (redact.WithoutCredentials).
func StripCredentials(raw string) string { return redact.WithoutCredentials(raw) }
