package dashboard

import (
	"embed"
	"net/http"
)

// assets are the page, its style sheet and its script, served from the
// binary: nothing is fetched from anywhere else.
//
//go:embed assets/index.html assets/style.css assets/app.js assets/trace.js
var assets embed.FS

func serveIndex(w http.ResponseWriter, r *http.Request) {
	page, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, "dashboard page missing from the build", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(page)
}
