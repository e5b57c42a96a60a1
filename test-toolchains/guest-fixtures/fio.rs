use std::fs;
use std::io::{Read, Write};
fn main() {
    let d = std::env::args().nth(1).unwrap_or("/data".into());
    let mut s = String::new();
    fs::File::open(format!("{}/in.txt", d)).unwrap().read_to_string(&mut s).unwrap();
    println!("read: {}", s);
    fs::create_dir_all(format!("{}/r/s", d)).unwrap();
    let mut f = fs::File::create(format!("{}/r/s/o.txt", d)).unwrap();
    writeln!(f, "rust {}", 7).unwrap();
    drop(f);
    println!("meta len {}", fs::metadata(format!("{}/r/s/o.txt", d)).unwrap().len());
    let mut names: Vec<String> = fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    println!("dir {:?}", names);
    fs::rename(format!("{}/r/s/o.txt", d), format!("{}/r/o2.txt", d)).unwrap();
    fs::remove_file(format!("{}/r/o2.txt", d)).unwrap();
    fs::remove_dir_all(format!("{}/r", d)).unwrap();
    println!("escape: {:?}", fs::read("/etc/passwd").map(|_| ()).map_err(|e| e.kind()));
    println!("time: {:?}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).is_ok());
    let t = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    println!("slept {}", t.elapsed().as_millis() >= 5);
    std::process::exit(5);
}
