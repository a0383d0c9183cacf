// Package remote is the one place a run gets and puts objects by URL
// through storage plugins: it picks the plugin, hands it the credentials of
// the URL's prefix, reports progress, says "not found" the same way for
// every backend, explains a plugin's crash, and redacts every URL and
// error it returns.
package remote
