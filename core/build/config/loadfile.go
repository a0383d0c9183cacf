package config

import "os"

// LoadFile loads the config a command runs with: the file at path, or,
// when path is "", the one Find finds in the current folder; then
// parsed, validated and expanded with lookup (os.LookupEnv if nil).
// Problems in the file are *Error; a missing file matches fs.ErrNotExist.
func LoadFile(path string, lookup func(name string) (string, bool)) (*Config, error) {
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if path, err = Find(wd); err != nil {
			return nil, err
		}
	}
	cfg, err := Load(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.Expand(lookup); err != nil {
		return nil, err
	}
	return cfg, nil
}
