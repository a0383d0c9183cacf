// Package summary renders what a build left behind (its local attestation,
// signed bundle and dotenv outputs) as the Markdown a CI job summary shows.
package summary
