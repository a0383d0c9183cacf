// Package run executes one build: the stages of DESIGN §2 (plan, cache,
// source, env, materials, replacements, build, collect, attest, publish,
// outputs), each a function with explicit inputs and outputs.
package run
