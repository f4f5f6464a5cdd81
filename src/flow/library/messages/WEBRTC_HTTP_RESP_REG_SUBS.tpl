HTTP/1.1 201 Created
Access-Control-Allow-Origin: *
Location: http://{webrtc-srv-name}:{http-port}/racm/v1/{session-id:url}/subscriptions/{reg-subscription-id:url}
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"racmNotificationSubscription":{"callbackReference":{"notifyURL":"{callback-url:json}","callbackData":"racm","notificationFormat":"JSON"},"duration":3600,"clientCorrelator":"{client-correlator:json}","resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/racm/v1/{session-id:url:json}/subscriptions/{reg-subscription-id:url:json}"}}
