HTTP/1.1 201 Created
Access-Control-Allow-Origin: *
Location: http://{webrtc-srv-name}:{http-port}/vvoip/vvoip/v1/{session-id:url}/subscriptions/{call-subscription-id:url}
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"vvoipNotificationSubscription":{"callbackReference":{"notifyURL":"{callback-url:json}","callbackData":"vvoip","notificationFormat":"JSON"},"duration":650,"clientCorrelator":"{client-correlator:json}","resourceURL":"http://{webrtc-srv-name:json}:{http-port:json}/vvoip/vvoip/v1/{session-id:url:json}/subscriptions/{call-subscription-id:url:json}"}}
