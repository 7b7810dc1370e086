package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Metrics are the figures of a server's /metrics that tell its memory and
// goroutines, and its CPU time with the share its password hashing took; a
// figure the server does not expose is -1.
type Metrics struct {
	ResidentBytes  float64 `json:"process_resident_memory_bytes"`
	HeapInuseBytes float64 `json:"go_memstats_heap_inuse_bytes"`
	HeapAllocBytes float64 `json:"go_memstats_heap_alloc_bytes"`
	SysBytes       float64 `json:"go_memstats_sys_bytes"`
	Goroutines     float64 `json:"go_goroutines"`
	CPUSeconds     float64 `json:"process_cpu_seconds_total"`
	HashCPUSeconds float64 `json:"ninsho_password_hash_cpu_seconds_total"`
	Hashes         float64 `json:"ninsho_password_hashes_total"`
}

// HashCPUShare is the share of the server's CPU time between m and later
// that its hashing threads spent on password hashes, and the hashes run;
// ok is false when either scrape lacks a figure or no CPU time passed.
func (m Metrics) HashCPUShare(later Metrics) (share, hashes float64, ok bool) {
	cpu := later.CPUSeconds - m.CPUSeconds
	if m.CPUSeconds < 0 || later.CPUSeconds < 0 || m.HashCPUSeconds < 0 || later.HashCPUSeconds < 0 || cpu <= 0 {
		return 0, 0, false
	}
	return (later.HashCPUSeconds - m.HashCPUSeconds) / cpu, later.Hashes - m.Hashes, true
}

// ScrapeMetrics reads the Prometheus text at url (with the bearer token when
// not ""), through client.
func ScrapeMetrics(ctx context.Context, client *http.Client, url, token string) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Metrics{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Metrics{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			return Metrics{}, fmt.Errorf("%s answered 401: give --metrics-token", url)
		case http.StatusNotFound:
			return Metrics{}, fmt.Errorf("%s answered 404: the server serves /metrics elsewhere (metrics.addr) or not at all", url)
		}
		return Metrics{}, fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return ParseMetrics(resp.Body)
}

// ParseMetrics reads the figures of Metrics from Prometheus text; it fails
// when the text has none of them.
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{ResidentBytes: -1, HeapInuseBytes: -1, HeapAllocBytes: -1, SysBytes: -1, Goroutines: -1,
		CPUSeconds: -1, HashCPUSeconds: -1, Hashes: -1}
	into := map[string]*float64{
		"process_resident_memory_bytes":          &m.ResidentBytes,
		"go_memstats_heap_inuse_bytes":           &m.HeapInuseBytes,
		"go_memstats_heap_alloc_bytes":           &m.HeapAllocBytes,
		"go_memstats_sys_bytes":                  &m.SysBytes,
		"go_goroutines":                          &m.Goroutines,
		"process_cpu_seconds_total":              &m.CPUSeconds,
		"ninsho_password_hash_cpu_seconds_total": &m.HashCPUSeconds,
		"ninsho_password_hashes_total":           &m.Hashes,
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		p := into[name]
		if p == nil {
			continue
		}
		// A sample line may end with a timestamp.
		value, _, _ = strings.Cut(strings.TrimSpace(value), " ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return m, fmt.Errorf("loadgen: malformed metric %s", name)
		}
		*p = v
		found++
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if found == 0 {
		return m, fmt.Errorf("loadgen: no memory, goroutine or CPU figures in the metrics")
	}
	return m, nil
}
