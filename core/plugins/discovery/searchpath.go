package discovery

import (
	"os"
	"path/filepath"
	"strings"
)

// Origins of a directory of the search path, in search order.
const (
	OriginEnv           = "env"            // an entry of $MMBUILD_PLUGIN_PATH
	OriginProject       = "project"        // the project's .mmbuild/plugins
	OriginUser          = "user"           // $XDG_DATA_HOME/mmbuild/plugins
	OriginBesideMmbuild = "beside-mmbuild" // the folder of the mmbuild executable
)

// EnvPluginPath names the variable holding extra plugin directories,
// separated by ':' (os.PathListSeparator), searched first.
const EnvPluginPath = "MMBUILD_PLUGIN_PATH"

// Dir is one directory of the search path.
type Dir struct {
	Path   string `json:"path"`
	Origin string `json:"origin"`
}

type options struct {
	projectDir string
	exeDir     *string
	getenv     func(string) string
}

// Option configures SearchPath.
type Option func(*options)

// WithProjectDir sets the project directory, whose .mmbuild/plugins is
// searched after $MMBUILD_PLUGIN_PATH. Default: none.
func WithProjectDir(dir string) Option { return func(o *options) { o.projectDir = dir } }

// WithExecutableDir sets the folder of the mmbuild executable, searched
// last; "" leaves it out. Default: the folder of os.Executable, resolved
// through symlinks.
func WithExecutableDir(dir string) Option { return func(o *options) { o.exeDir = &dir } }

// WithEnv sets how environment variables are read. Default: os.Getenv.
func WithEnv(getenv func(string) string) Option { return func(o *options) { o.getenv = getenv } }

// SearchPath returns the directories searched for plugins, in order: each
// entry of $MMBUILD_PLUGIN_PATH (empty entries ignored), the project's
// .mmbuild/plugins, the user's data dir ($XDG_DATA_HOME/mmbuild/plugins,
// default ~/.local/share/mmbuild/plugins) and the folder beside the mmbuild
// executable. Paths are made absolute; a directory listed twice is kept
// only where it first appears. Directories are not checked for existence.
func SearchPath(opts ...Option) []Dir {
	o := options{getenv: os.Getenv}
	for _, opt := range opts {
		opt(&o)
	}
	var dirs []Dir
	seen := map[string]bool{}
	add := func(path, origin string) {
		if path == "" {
			return
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		path = filepath.Clean(path)
		if seen[path] {
			return
		}
		seen[path] = true
		dirs = append(dirs, Dir{Path: path, Origin: origin})
	}
	for _, p := range strings.Split(o.getenv(EnvPluginPath), string(os.PathListSeparator)) {
		add(p, OriginEnv)
	}
	if o.projectDir != "" {
		add(filepath.Join(o.projectDir, ".mmbuild", "plugins"), OriginProject)
	}
	add(userDir(o.getenv), OriginUser)
	if o.exeDir != nil {
		add(*o.exeDir, OriginBesideMmbuild)
	} else {
		add(executableDir(), OriginBesideMmbuild)
	}
	return dirs
}

// userDir is $XDG_DATA_HOME/mmbuild/plugins, or ~/.local/share/… when the
// variable is unset or relative (the XDG spec says to ignore relative
// paths); "" when neither is known.
func userDir(getenv func(string) string) string {
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "mmbuild", "plugins")
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "share", "mmbuild", "plugins")
	}
	return ""
}

func executableDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Dir(exe)
}

// UserDir is the user's plugin folder, where `mmbuild plugins install`
// puts binaries: $XDG_DATA_HOME/mmbuild/plugins, else
// ~/.local/share/mmbuild/plugins.
func UserDir() string { return userDir(os.Getenv) }
