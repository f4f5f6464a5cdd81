POST /mavnotifyserver/notificationchannel/v1/{session-id:url}/channels HTTP/1.1
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
{"notificationChannel":{"applicationTag":"UAG","channelData":{"maxNotifications":1,"type":"WebSocketData"},"channelLifetime":2592000,"channelType":"WebSockets","clientCorrelator":"{client-correlator:json}"}}
