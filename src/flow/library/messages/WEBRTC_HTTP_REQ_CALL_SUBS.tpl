POST /vvoip/vvoip/v1/{session-id:url}/subscriptions HTTP/1.1
Host: {webrtc-srv-name}:{http-port}
Accept: application/json
Accept-Language: en-US,en
Cache-Control: no-cache
Connection: keep-alive
Pragma: no-cache
Referer: {referer?}
User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.97 Safari/537.36
X-Client-ID: {client-id}
X-Session-ID: {session-id}
Cookie: {oauth-cookie?}
Content-Type: application/json
Content-Length: {content-length}
---body---
{"vvoipNotificationSubscription":{"callbackReference":{"notifyURL":"{callback-url:json}","callbackData":"vvoip","notificationFormat":"JSON"},"duration":650,"clientCorrelator":"{client-correlator:json}"}}
