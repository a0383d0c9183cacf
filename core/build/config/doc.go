// Package config loads, validates and expands mmbuild.yaml (and the legacy matterbuild.yaml) build configs, with a file:line:col position in every error.
package config
