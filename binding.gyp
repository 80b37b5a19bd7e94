{
  "targets": [
    {
      "target_name": "vfio_user_io",
      "sources": ["src/vfio-user/native/vfio_user_io.cc"],
      "cflags_cc": ["-O2", "-Wall"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
