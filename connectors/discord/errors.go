package discord

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/fairstream/fairstream/connectors"
)

// APIError is an error Discord answered with: a status, and the JSON
// error code and message of its body ({"message": "Unknown Channel",
// "code": 10003}). Fetch returns it wrapped in a *connectors.ResponseError,
// so the worker records it (with the body) and backs the stream off.
type APIError struct {
	Status  int
	Code    int
	Message string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("Discord answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += fmt.Sprintf(": %s (code %d)", e.Message, e.Code)
	}
	if e.Status == http.StatusForbidden {
		s += "; the bot cannot read this channel: add it to the server and give it View Channel and Read Message History there"
	}
	return s
}

// describe turns the client's errors into what the worker should do with
// them. Discord answers 403 (Missing Access 50001, Missing Permissions
// 50013) for a channel a valid bot may not read: that is one stream's
// problem, recorded and backed off, not refused credentials that stop the
// worker (a refused token is a 401). Other 4xx (404 Unknown Channel 10003)
// get Discord's code and message.
func describe(err error, u string) error {
	var re *connectors.ResponseError
	if errors.As(err, &re) {
		var body apiError
		if re.StatusCode >= 400 && json.Unmarshal([]byte(re.Snippet), &body) == nil && body.Message != "" {
			c := *re
			c.Err = &APIError{Status: re.StatusCode, Code: body.Code, Message: body.Message}
			return &c
		}
		return err
	}
	var ae *connectors.AuthError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden {
		var body apiError
		_ = json.Unmarshal([]byte(ae.Body), &body)
		return &connectors.ResponseError{URL: u, StatusCode: http.StatusForbidden, ContentType: ae.ContentType,
			Snippet: ae.Body, Err: &APIError{Status: http.StatusForbidden, Code: body.Code, Message: body.Message}}
	}
	return err
}

// unusable reports a 2xx body that decoded but does not make sense.
func unusable(resp *connectors.Response, err error) error {
	return &connectors.ResponseError{URL: resp.URL, StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		Snippet: connectors.Snippet(resp.Body, 512), Err: err}
}
