package format

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HumanSize returns a size in bytes the way docker prints it (go-units
// HumanSizeWithPrecision(size, 3)): decimal units, three significant digits,
// e.g. "0B", "4.1kB", "1.23MB", "142MB". Unlike go-units it never prints an
// exponent: a value that rounds up to 1000 moves to the next unit.
func HumanSize(bytes int64) string {
	units := [...]string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
	size, sign := float64(bytes), ""
	if size < 0 {
		size, sign = -size, "-"
	}
	i := 0
	for size >= 1000 && i < len(units)-1 {
		size /= 1000
		i++
	}
	s := strconv.FormatFloat(size, 'g', 3, 64)
	if strings.Contains(s, "e") && i < len(units)-1 { // 999.5 and up round to 1e+03
		size /= 1000
		i++
		s = strconv.FormatFloat(size, 'g', 3, 64)
	}
	return sign + s + units[i]
}

// HumanDuration returns docker's approximation of a duration (go-units
// HumanDuration): "Less than a second", "1 second", "45 seconds",
// "About a minute", "5 minutes", "About an hour", "3 hours", "2 days",
// "3 weeks", "4 months", "2 years".
func HumanDuration(d time.Duration) string {
	seconds, minutes := int(d.Seconds()), int(d.Minutes())
	hours := int(d.Hours() + 0.5) // rounded, as go-units does
	switch {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365) // truncated, as go-units does
}

// Since returns how long before now t was, as docker's "CREATED" column
// shows it: HumanDuration(now-t) + " ago", e.g. "5 minutes ago".
func Since(t, now time.Time) string {
	return HumanDuration(now.Sub(t)) + " ago"
}
