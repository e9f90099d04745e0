//go:build !browser

package main

import "testing"

// TestBrowser is in browser_test.go, built with -tags browser: it needs a
// chromium and takes a minute, so make test leaves it to make test-browser.
func TestBrowser(t *testing.T) {
	t.Skip("the browser test of the web console runs with make test-browser (go test -tags browser), with chromium installed")
}
