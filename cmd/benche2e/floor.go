package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/gen"
)

// The floor is the least work any client of the API must do per row: a
// POST of the form, reading the body and decoding its JSON, with 32
// connections kept open and nothing else (no reading of a list, no
// checkpoint, no output). It runs in a child process of the driver, so that
// its CPU time is measured by wait4 exactly as cardverify's is, against the
// same sandbox process in the same run. cardverify's CPU per row is judged
// as a ratio to it, which does not depend on the machine's speed.

const floorWorkers = 32

// floorJob is one floor run, from the driver's internal flags.
type floorJob struct {
	url  string
	rows int
	seed uint64
	qps  float64 // calls per second, paced by a ticker; 0: as fast as it goes
}

// runFloor sends one call for each of the rows of gen's clean list and
// exits; it is the -floor-url mode of this program.
//
// Paced (qps > 0), row i is due at i/qps from the start, and the worker
// that takes it sleeps until then: the schedule of cardverify's limiter,
// which books slots ahead and catches up after a late one. A time.Ticker
// shared by the workers, as before, dropped its ticks whenever the waiting
// worker was not woken within a tick (1,000 calls took 20.5 to 22 s on a
// loaded machine), and each worker waited a tick before it saw that the
// rows were all taken (0.6 s of idle at the end): both lengthened the wall
// time, and so lowered the floor's share of a core.
func runFloor(f floorJob) error {
	tr := &http.Transport{MaxIdleConns: floorWorkers, MaxIdleConnsPerHost: floorWorkers}
	client := &http.Client{Transport: tr}
	endpoint := f.url + "/verifybankcard/query"
	o := gen.Options{Rows: f.rows, Seed: f.seed, Clean: true}
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, floorWorkers)
	for range floorWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= f.rows {
					return
				}
				if f.qps > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(float64(i) * float64(time.Second) / f.qps))))
				}
				if err := floorCall(client, endpoint, o.Row(i)); err != nil {
					errs <- fmt.Errorf("row %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

// floorCall posts the form of row r and decodes the JSON answer.
func floorCall(client *http.Client, endpoint string, r gen.Row) error {
	form := url.Values{"key": {"floor"}, "realname": {r.Name}, "bankcard": {r.Card}, "jobid": {"1"}}
	resp, err := client.PostForm(endpoint, form)
	if err != nil {
		return err
	}
	var answer struct {
		ErrorCode int `json:"error_code"`
		Result    struct {
			Res   json.Number `json:"res"`
			JobID string      `json:"jobid"`
		} `json:"result"`
	}
	err = json.NewDecoder(resp.Body).Decode(&answer)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}

// floor runs the floor client for rows calls against the sandbox at base
// and returns what it cost.
// and returns what it cost; qps > 0 paces the calls.
func floor(ctx context.Context, base string, rows int, seed uint64, qps float64) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	c := command{bin: self, args: []string{"-floor-url", base, "-floor-rows", strconv.Itoa(rows), "-floor-seed", strconv.FormatUint(seed, 10),
		"-floor-qps", strconv.FormatFloat(qps, 'f', -1, 64)}}
	r, err := c.run(ctx, nil)
	if err == nil && r.code != 0 {
		err = fmt.Errorf("floor client exited %d: %s", r.code, r.stderr)
	}
	return r, err
}
